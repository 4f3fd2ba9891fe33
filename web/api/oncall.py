"""GET /api/v1/oncall and GET /api/v1/schedules/{id}.ics: who is on call, and a feed to subscribe to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response, current_app

from store.domain.ical import feed_shifts, render_calendar
from store.domain.oncall_view import oncall_rows
from store.errors import ApiError
from store.runtime import Runtime

View = Callable[..., Awaitable[Any]]
AuthHook = Callable[[View], View]


def _no_auth(view: View) -> View:
    return view


def create_blueprint(auth: AuthHook | None = None) -> Blueprint:
    """The on-call routes; `auth` wraps each view (the composition root passes the viewer-role check)."""
    bp = Blueprint("oncall", __name__)
    guard = auth or _no_auth

    @bp.get("/api/v1/oncall", endpoint="oncall")  # explicit: a hook need not keep names
    @guard
    async def oncall() -> dict[str, Any]:
        runtime: Runtime = current_app.extensions["tocsin"]
        return {"schedules": oncall_rows(runtime.config, runtime.clock())}

    @bp.get("/api/v1/schedules/<schedule_id>.ics", endpoint="schedule_feed")
    @guard
    async def schedule_feed(schedule_id: str) -> Response:
        runtime: Runtime = current_app.extensions["tocsin"]
        schedule = runtime.config.schedule(schedule_id)
        if schedule is None:
            known = ", ".join(s.id for s in runtime.config.schedules) or "none configured"
            raise ApiError(404, "not_found", f"no schedule {schedule_id!r}; expected one of: {known}")
        now = runtime.clock()
        names = {u.id: u.name for u in runtime.config.users}
        body = render_calendar(schedule, feed_shifts(schedule, now), names, now)
        response = Response(body, content_type="text/calendar; charset=utf-8")
        response.headers["Content-Disposition"] = f'inline; filename="{schedule.id}.ics"'
        return response

    return bp
