"""The heartbeat endpoints: list them with their last pings, mute and unmute one (pings arrive at
POST /api/v1/heartbeats/{id}, served by the webhook package with the webhook's tokens)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import current_app

from store import heartbeats
from store.domain.config_fields import parse_duration
from store.errors import Invalid
from store.runtime import Runtime
from web.api import auth
from web.api.oncall_shapes import HEARTBEAT_EXAMPLE, heartbeat_json, items_of
from web.api.registry import Call, Endpoint, Registry
from web.api.schema import Body, Field
from web.api.shapes import ref

MUTE = Body("MuteHeartbeat", (Field("duration", "string", "how long: 1m to 30d, such as 2h", required=True,
                                    min_length=2, max_length=20, pattern=r"^(\d+[smhdw])+$"),))


def _runtime() -> Runtime:
    return current_app.extensions["tocsin"]


def register(api: Registry, anonymous_read: bool) -> None:
    """Add the heartbeat endpoints to the registry."""

    @api.route(Endpoint("GET", "/api/v1/heartbeats", "listHeartbeats",
                        "The heartbeats of the config with their last pings and status", auth.READ,
                        items_of("Heartbeat"), example={"items": [HEARTBEAT_EXAMPLE]}), anonymous_read)
    async def list_heartbeats(call: Call) -> dict[str, Any]:
        runtime = _runtime()
        found = await heartbeats.views(runtime.db, runtime.config, runtime.clock())
        return {"items": [heartbeat_json(v) for v in found]}

    @api.route(Endpoint("POST", "/api/v1/heartbeats/{id}/mute", "muteHeartbeat",
                        "Mute a heartbeat for a while: missing pings open no incident", auth.ADMIN, ref("Heartbeat"),
                        body=MUTE, errors=(400, 404, 413, 415), text_params=("id",),
                        example={**HEARTBEAT_EXAMPLE, "status": "muted", "muted_until": "2026-11-26T21:02:30Z"},
                        request_example={"duration": "2h"}), anonymous_read)
    async def mute(call: Call) -> dict[str, Any]:
        runtime = _runtime()
        try:
            span: timedelta = parse_duration(call.body["duration"])
        except ValueError as exc:
            raise Invalid("duration", str(exc)) from None
        now = runtime.clock()
        view = await heartbeats.mute(runtime.db, runtime.config, call.path["id"], now + span, call.principal.actor,
                                     now)
        return heartbeat_json(view)

    @api.route(Endpoint("POST", "/api/v1/heartbeats/{id}/unmute", "unmuteHeartbeat", "End a heartbeat's mute",
                        auth.ADMIN, ref("Heartbeat"), errors=(404,), text_params=("id",),
                        example=HEARTBEAT_EXAMPLE), anonymous_read)
    async def unmute(call: Call) -> dict[str, Any]:
        runtime = _runtime()
        view = await heartbeats.mute(runtime.db, runtime.config, call.path["id"], None, call.principal.actor,
                                     runtime.clock())
        return heartbeat_json(view)
