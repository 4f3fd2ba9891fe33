"""Signing in with an API token, kept in an HttpOnly, SameSite=Strict cookie and checked on every request;
or with single sign-on, kept in a signed cookie.

The token cookie holds the token itself (as the API's bearer header does), so revoking the token ends every
session that uses it at once. A single sign-on session is the person's subject, name and role, signed with
a key every replica shares (made once, kept in PostgreSQL) and good for SSO_MAX_AGE. Cookies are Secure
when PUBLIC_URL is https:// or the request came over HTTPS; on a plain-HTTP quick start
(http://localhost:8080) they cannot be, or browsers would never send them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from quart import Response, current_app, request

from store.domain.tokens import Role, role_allows
from store.runtime import Runtime
from store.secrets import SESSION_KEY, shared_secret
from store.throttle import auth_check, auth_failed
from store.tokens import Principal, authenticate
from web.api.auth import ANONYMOUS
from web.dashboard.settings import DashboardSettings

COOKIE = "tocsin_session"
SECURE_COOKIE = "__Host-tocsin_session"  # the __Host- prefix: Secure, Path=/, no Domain (no subdomain can set it)
MAX_AGE = 7 * 86400
MAX_TOKEN = 512
SSO_COOKIE = "tocsin_sso"
SSO_MAX_AGE = 12 * 3600
FLOW_COOKIE = "tocsin_oidc_flow"
FLOW_MAX_AGE = 600
REASONS = {
    "ended": "Your session ended: its token was revoked or is unknown. Sign in again.",
    "signed_out": "You are signed out.",
}


class SignInRequired(Exception):
    """The page needs a signed-in viewer; `reason` picks the message the login page shows."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "sign in required")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: a token's principal, or anonymous (ANONYMOUS_READ)."""

    principal: Principal
    signed_in: bool


def secure_cookie(settings: DashboardSettings) -> bool:
    """Whether the cookie must be Secure: served over HTTPS, directly or behind a proxy (PUBLIC_URL)."""
    return settings.https or request.scheme in ("https", "wss")


def cookie_token() -> str | None:
    """The token in the session cookie, if any."""
    token = request.cookies.get(SECURE_COOKIE) or request.cookies.get(COOKIE)
    return token if token and len(token) <= MAX_TOKEN else None


async def check_token(token: str) -> Principal | None:
    """The principal of a live token of role viewer or better, else None (counted as a failed sign-in);
    503 when the database is down, 429 when this address failed too often."""
    auth_check(current_app.extensions, request)
    runtime: Runtime = current_app.extensions["tocsin"]
    principal = await authenticate(runtime.db, token)  # Unavailable (503) when the database is down
    if principal is None or not role_allows(principal.role, Role.VIEWER):
        await auth_failed(current_app.extensions, request, "dashboard")
        return None
    return principal


async def signer(purpose: str) -> URLSafeTimedSerializer:
    """A serializer signing with the replicas' shared session key (read once per process)."""
    key = current_app.extensions.get("tocsin_session_key")
    if key is None:
        runtime: Runtime = current_app.extensions["tocsin"]
        key = current_app.extensions["tocsin_session_key"] = await shared_secret(runtime.db, SESSION_KEY)
    return URLSafeTimedSerializer(key, salt=purpose)


async def read_signed(cookie: str, purpose: str, max_age: int) -> dict[str, str] | None:
    """A signed cookie's content, or None when it is absent, forged or too old."""
    value = request.cookies.get(cookie)
    if not value or len(value) > 4096:
        return None
    try:
        data = (await signer(purpose)).loads(value, max_age=max_age)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


async def set_signed(response: Response, cookie: str, purpose: str, data: dict[str, str], max_age: int,
                     settings: DashboardSettings, same_site: str = "Strict") -> None:
    """Put signed content in an HttpOnly cookie."""
    value = (await signer(purpose)).dumps(data)
    response.set_cookie(cookie, value, max_age=max_age, path="/", secure=secure_cookie(settings), httponly=True,
                        samesite=same_site)


async def sso_principal() -> Principal | None:
    """The principal of a single sign-on session cookie, if there is a good one."""
    data = await read_signed(SSO_COOKIE, "sso", SSO_MAX_AGE)
    if data is None or data.get("role") not in ("viewer", "responder", "admin"):
        return None
    return Principal(str(data.get("name", "")), Role(data["role"]), f"sso:{data.get('sub', '')}")


async def current_viewer(settings: DashboardSettings) -> Viewer:
    """The signed-in viewer, or anonymous under ANONYMOUS_READ; SignInRequired otherwise."""
    if settings.oidc is not None:
        person = await sso_principal()
        if person is not None:
            return Viewer(person, True)
    token = cookie_token()
    if token is not None:
        principal = await check_token(token)
        if principal is not None:
            return Viewer(principal, True)
        if not settings.anonymous_read:
            raise SignInRequired("ended")
    if settings.anonymous_read:
        return Viewer(ANONYMOUS, False)
    raise SignInRequired()


def set_session(response: Response, token: str, settings: DashboardSettings) -> None:
    """Put the token in the session cookie."""
    secure = secure_cookie(settings)
    name = SECURE_COOKIE if secure else COOKIE
    response.set_cookie(name, token, max_age=MAX_AGE, path="/", secure=secure, httponly=True, samesite="Strict")


def clear_session(response: Response) -> None:
    """Drop the session cookies (a token's under both names, and single sign-on's)."""
    response.delete_cookie(SSO_COOKIE, path="/", httponly=True, samesite="Strict")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
    response.delete_cookie(SECURE_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another host), else '/'."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target


def same_origin(settings: DashboardSettings) -> bool:
    """False when a browser says this POST comes from another site (Origin header)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser, or an old one; SameSite=Strict still keeps the cookie from other sites
    netloc = urlsplit(origin).netloc.lower()
    return netloc in (request.host.lower(), urlsplit(settings.public_url).netloc.lower())
