"""The actions around an acknowledgement: unacknowledge, reassign, escalate now, snooze (each answers the incident)."""

from __future__ import annotations

from typing import Any

from quart import current_app

from store import ack_actions
from store.domain.incident import ActionSource
from store.domain.silence import BadDuration, parse_duration
from store.errors import Invalid
from store.runtime import Runtime
from web.api import auth
from web.api import examples as ex
from web.api.registry import Call, Endpoint, Registry
from web.api.schema import Body, Field
from web.api.shapes import incident_json, ref

ERRORS = (400, 404, 409, 413, 415)
REASSIGN = Body("Reassign", (Field("to", "string", "the config user who takes it (and is told)", required=True,
                                   min_length=1, max_length=64),))
SNOOZE = Body("Snooze", (Field("duration", "string", "how long it stays acknowledged: 1m to 30d, such as 1h",
                               required=True, min_length=2, max_length=10, pattern=r"^\d+[mhd]$"),))


def _runtime() -> Runtime:
    return current_app.extensions["tocsin"]


def register(api: Registry, public_url: str, anonymous_read: bool) -> None:
    """Add the four endpoints to the registry."""
    api_source = ActionSource.API

    @api.route(Endpoint("POST", "/api/v1/incidents/{id}/unacknowledge", "unacknowledgeIncident",
                        "Unacknowledge: triggered again, escalation from its first step (409 unless acknowledged)",
                        auth.WRITE, ref("Incident"), errors=(404, 409), example=ex.INCIDENT), anonymous_read)
    async def unacknowledge(call: Call) -> dict[str, Any]:
        result = await ack_actions.unacknowledge(_runtime().db, call.path["id"], call.principal.actor, api_source)
        return incident_json(result.incident, public_url)

    @api.route(Endpoint("POST", "/api/v1/incidents/{id}/reassign", "reassignIncident",
                        "Reassign: acknowledged by another config user, who is told through their contacts (409 "
                        "when resolved)", auth.WRITE, ref("Incident"), body=REASSIGN, errors=ERRORS,
                        example={**ex.ACKNOWLEDGED, "acknowledged_by": "bob"}, request_example={"to": "bob"}),
               anonymous_read)
    async def reassign(call: Call) -> dict[str, Any]:
        runtime = _runtime()
        result = await ack_actions.reassign(runtime.db, runtime.config, call.path["id"], call.body["to"],
                                            call.principal.actor, api_source)
        return incident_json(result.incident, public_url)

    @api.route(Endpoint("POST", "/api/v1/incidents/{id}/escalate", "escalateIncident",
                        "Escalate now: the next step of its policy at once (409 when resolved, without a policy, or "
                        "when every step has fired)", auth.WRITE, ref("Incident"), errors=(404, 409),
                        example=ex.INCIDENT), anonymous_read)
    async def escalate(call: Call) -> dict[str, Any]:
        runtime = _runtime()
        result = await ack_actions.escalate(runtime.db, runtime.config, call.path["id"], call.principal.actor,
                                            api_source)
        return incident_json(result.incident, public_url)

    @api.route(Endpoint("POST", "/api/v1/incidents/{id}/snooze", "snoozeIncident",
                        "Snooze: acknowledged until the duration has passed, then triggered again (409 when "
                        "resolved)", auth.WRITE, ref("Incident"), body=SNOOZE, errors=ERRORS, example=ex.ACKNOWLEDGED,
                        request_example={"duration": "1h"}), anonymous_read)
    async def snooze(call: Call) -> dict[str, Any]:
        try:
            seconds = parse_duration(call.body["duration"])
        except BadDuration as exc:
            raise Invalid("duration", str(exc)) from None
        result = await ack_actions.snooze(_runtime().db, call.path["id"], seconds, call.principal.actor, api_source)
        return incident_json(result.incident, public_url)
