"""GET /auth/oidc/login and GET /auth/oidc/callback: single sign-on for the dashboard (web/dashboard/oidc.py).

The flow's state, nonce and PKCE verifier wait in a signed cookie that lasts ten minutes (SameSite=Lax: the
provider's redirect back is a top-level navigation from another site). Whatever goes wrong is shown on the
sign-in page in words, where token sign-in keeps working.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from quart import Blueprint, Response, redirect, request

from store.errors import ApiError
from web.dashboard import session
from web.dashboard.oidc import Flow, OidcClient, ProviderDown, SignInRefused
from web.dashboard.settings import DashboardSettings

log = logging.getLogger(__name__)
LoginPage = Callable[..., Awaitable[Response]]


def register(bp: Blueprint, settings: DashboardSettings, client: OidcClient | None, login_page: LoginPage) -> None:
    """Add the two routes; without OIDC_ISSUER they answer 404."""

    def enabled() -> OidcClient:
        if client is None:
            raise ApiError(404, "not_found", "single sign-on is not configured (OIDC_ISSUER is unset)")
        return client

    @bp.get("/auth/oidc/login")
    async def oidc_login() -> Response:
        oidc = enabled()
        flow = Flow.start(session.local_path(request.args.get("next")))
        try:
            target = await oidc.authorization_url(flow)
        except ProviderDown as exc:
            return await login_page(flow.next, error=down_message(str(exc)), status=503)
        response = redirect(target, 303)
        await session.set_signed(response, session.FLOW_COOKIE, "oidc-flow", _flow_data(flow), session.FLOW_MAX_AGE,
                                 settings, same_site="Lax")
        return response

    @bp.get("/auth/oidc/callback")
    async def oidc_callback() -> Response:
        oidc = enabled()
        data = await session.read_signed(session.FLOW_COOKIE, "oidc-flow", session.FLOW_MAX_AGE)
        if data is None or data.get("state") != request.args.get("state"):
            return await login_page("/", error="This sign-in link is stale or was not started here. Try again.",
                                    status=400)
        flow = Flow(data["state"], data["nonce"], data["verifier"], session.local_path(data.get("next")))
        if "error" in request.args or not request.args.get("code"):
            reason = request.args.get("error_description") or request.args.get("error") or "no code was given"
            return await login_page(flow.next, error=f"The identity provider did not sign you in: {reason[:200]}",
                                    status=401)
        try:
            person = await oidc.sign_in(request.args["code"][:2048], flow)
        except ProviderDown as exc:
            return await login_page(flow.next, error=down_message(str(exc)), status=503)
        except SignInRefused as exc:
            log.warning("single sign-on refused: %s", exc)
            return await login_page(flow.next, error=f"Single sign-on refused: {exc}.", status=401)
        response = redirect(flow.next, 303)
        response.delete_cookie(session.FLOW_COOKIE, path="/", httponly=True, samesite="Lax")
        await session.set_signed(response, session.SSO_COOKIE, "sso",
                                 {"sub": person.subject, "name": person.name, "role": person.role.value},
                                 session.SSO_MAX_AGE, settings)
        log.info("single sign-on: %s signed in as %s", person.name, person.role)
        return response


def down_message(reason: str) -> str:
    """What the sign-in page says when the provider is away."""
    return (f"Single sign-on is unavailable right now: the identity provider cannot be used ({reason[:200]}). "
            "Sign in with an API token instead.")


def _flow_data(flow: Flow) -> dict[str, str]:
    return {"state": flow.state, "nonce": flow.nonce, "verifier": flow.verifier, "next": flow.next}
