"""The dashboard's pages: the incident list, one incident, sign-in and sign-out, and the live stream."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, current_app, make_response, redirect, render_template, request

from store.domain.incident import SEVERITIES
from store.errors import ApiError
from store.runtime import Runtime
from store.sql.listing import INCIDENT_SORTS
from web.dashboard import data, live, session
from web.dashboard.settings import DashboardSettings

SORT_NAMES = {
    "-created_at": "Newest first",
    "created_at": "Oldest first",
    "-updated_at": "Recently updated",
    "severity": "Severity",
    "status": "Status",
}
SORTS = {key: SORT_NAMES.get(key, key) for key in INCIDENT_SORTS}
PERIOD_NAMES = {"24h": "last 24 hours", "7d": "last 7 days", "30d": "last 30 days", "90d": "last 90 days"}


def _runtime() -> Runtime:
    return current_app.extensions["tocsin"]


def page_url(path: str, params: dict[str, str]) -> str:
    """A path with its query string."""
    return f"{path}?{urlencode(params)}" if params else path


def register(bp: Blueprint, settings: DashboardSettings, hub: live.Hub) -> None:
    """Add the pages to the blueprint."""
    cache = data.WindowCache()
    hub.on_change.append(cache.changed)

    async def page(template: str, viewer: session.Viewer, status: int = 200, **context: Any) -> Response:
        body = await render_template(template, viewer=viewer, anonymous_read=settings.anonymous_read, **context)
        return Response(body, status, content_type="text/html; charset=utf-8")

    @bp.get("/")
    async def incident_list() -> Response:
        viewer = await session.current_viewer(settings)
        query = data.parse_list_query(request.args)
        runtime = _runtime()
        view = await data.load_list(runtime.db, query, cache, runtime.clock(), runtime.config)
        return await page(
            "dashboard/list.html", viewer, view=view, query=query, page_url=page_url, statuses=data.STATUSES,
            severities=SEVERITIES, sorts=SORTS, periods=PERIOD_NAMES, stream_url="/dashboard/events",
        )

    @bp.get("/incidents/<incident_id>")
    async def incident_page(incident_id: str) -> Response:
        viewer = await session.current_viewer(settings)
        number = data.parse_incident_id(incident_id)
        view = await data.load_incident(_runtime().db, number, settings.alertmanager_url)
        return await page("dashboard/incident.html", viewer, view=view, incident=view.incident,
                          stream_url=f"/dashboard/events?incident={number}")

    @bp.get("/login")
    async def login_form() -> Response:
        target = session.local_path(request.args.get("next"))
        token = session.cookie_token()
        if token is not None and await session.check_token(token) is not None:
            return redirect(target, 303)
        message = session.REASONS.get(request.args.get("reason", ""))
        return await _login_page(target, notice=message)

    @bp.post("/login")
    async def login() -> Response:
        if not session.same_origin(settings):
            raise ApiError(403, "forbidden", "sign-in from another site is refused")
        form = await request.form
        target = session.local_path(form.get("next"))
        token = (form.get("token") or "").strip()
        if not token:
            return await _login_page(target, error="Enter an API token.", status=400)
        if len(token) > session.MAX_TOKEN or not token.isprintable():
            return await _login_page(target, error="That is not an API token: it is too long or holds odd "
                                     "characters. Paste the line `tocsin token create` printed.", status=400)
        if await session.check_token(token) is None:
            return await _login_page(target, error="This token is unknown or revoked. Check it, or ask an "
                                     "admin for a new one (tocsin token create --role viewer).", status=401)
        response = redirect(target, 303)
        session.set_session(response, token, settings)
        return response

    @bp.post("/logout")
    async def logout() -> Response:
        if not session.same_origin(settings):
            raise ApiError(403, "forbidden", "sign-out from another site is refused")
        response = redirect("/login?reason=signed_out", 303)
        session.clear_session(response)
        return response

    async def _login_page(target: str, error: str | None = None, notice: str | None = None,
                          status: int = 200) -> Response:
        viewer = session.Viewer(session.ANONYMOUS, False)
        return await page("dashboard/login.html", viewer, status, next=target, error=error, notice=notice)

    @bp.get("/dashboard/events")
    async def events() -> Response:
        await session.current_viewer(settings)
        incident = request.args.get("incident")
        incident_id = data.parse_incident_id(incident) if incident is not None else None
        queue = await hub.subscribe()
        if queue is None:
            raise ApiError(503, "unavailable", "too many live viewers on this server (or it is stopping); "
                           "reload later")
        response = await make_response(live.stream(hub, queue, incident_id), 200, {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass events through at once
        })
        response.timeout = None  # an event stream stays open
        return response
