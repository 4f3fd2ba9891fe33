"""The maintenance window endpoints: make one (201), list them with the config's, end one early."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import current_app

from store import maintenance
from store.domain.config_fields import parse_duration
from store.errors import Invalid
from store.runtime import Runtime
from web.api import auth
from web.api.oncall_shapes import WEEKLY_EXAMPLE, WINDOW_EXAMPLE, items_of, window_json
from web.api.registry import Call, Endpoint, Registry
from web.api.schema import Body, Field
from web.api.shapes import ref

DURATION = r"^(\d+[smhdw])+$"
CREATE = Body("NewMaintenanceWindow", (
    Field("match", "string", "Alertmanager matchers, all must match, such as service=\"db\"", required=True,
          repeated=True, min_length=1, max_length=500, max_items=20),
    Field("duration", "string", "how long from now (or from `from`): 1m to 31d, such as 2h", min_length=2,
          max_length=20, pattern=DURATION),
    Field("from", "string", "when it starts (default: now)", format="date-time"),
    Field("until", "string", "when it ends (instead of duration)", format="date-time"),
    Field("comment", "string", "why", max_length=1000, default=""),
    Field("silence", "boolean", "also make the matching Alertmanager silence (needs ALERTMANAGER_URL)", default=False),
))


def _runtime() -> Runtime:
    return current_app.extensions["tocsin"]


def _duration(text: str | None) -> timedelta | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise Invalid("duration", str(exc)) from None


def register(api: Registry, anonymous_read: bool) -> None:
    """Add the maintenance endpoints to the registry."""

    @api.route(Endpoint("POST", "/api/v1/maintenance", "createMaintenanceWindow",
                        "Make a maintenance window: alerts it covers open incidents that do not page", auth.ADMIN,
                        ref("MaintenanceWindow"), status=201, body=CREATE, errors=(400, 409, 413, 415, 503),
                        example=WINDOW_EXAMPLE,
                        request_example={"match": ['service="db"'], "duration": "2h", "comment": "disk swap on db-1"}),
               anonymous_read)
    async def create(call: Call) -> dict[str, Any]:
        b, runtime = call.body, _runtime()
        now = runtime.clock()
        start, end = maintenance.period(b["from"], b["until"], _duration(b["duration"]), now)
        window = await maintenance.create(runtime.db, b["match"], start, end, call.principal.actor,
                                          comment=b["comment"], silence=b["silence"], silencer=runtime.silencer,
                                          now=now)
        return window_json(maintenance.WindowView(window, (start, end), start <= now))

    @api.route(Endpoint("GET", "/api/v1/maintenance", "listMaintenanceWindows",
                        "The maintenance windows: the config's, then those made through the API or chat (in force, "
                        "to come, or ended within a day)", auth.READ,
                        items_of("MaintenanceWindow"),
                        example={"items": [WEEKLY_EXAMPLE, WINDOW_EXAMPLE]}), anonymous_read)
    async def list_windows(call: Call) -> dict[str, Any]:
        runtime = _runtime()
        found = await maintenance.views(runtime.db, runtime.config, runtime.clock())
        return {"items": [window_json(v) for v in found]}

    @api.route(Endpoint("DELETE", "/api/v1/maintenance/{id}", "endMaintenanceWindow",
                        "End a window made through the API or chat now (409 for a config window or one already over)",
                        auth.ADMIN, ref("MaintenanceWindow"), errors=(404, 409), text_params=("id",),
                        example={**WINDOW_EXAMPLE, "until": "2026-11-26T19:40:00Z", "active": False}),
               anonymous_read)
    async def end(call: Call) -> dict[str, Any]:
        runtime = _runtime()
        now = runtime.clock()
        window = await maintenance.end(runtime.db, runtime.config, call.path["id"], call.principal.actor, now)
        return window_json(maintenance.WindowView(window, (window.starts_at or now, window.ends_at or now), False))
