"""The incident endpoints: list, one with its alerts and timeline, open by hand, acknowledge, resolve, notes,
silence."""

from __future__ import annotations

from typing import Any

from quart import current_app

from store import deliveries, lifecycle
from store.db import Database
from store.domain.delivery import manual_channels
from store.domain.incident import SEVERITIES, ActionSource, Status
from store.domain.silence import BadDuration, parse_duration
from store.errors import Invalid
from store.silence import silence as silence_incident
from store.sql import alerts as alerts_sql
from store.sql import events as events_sql
from store.sql import incidents as incidents_sql
from store.sql import listing
from web.alertmanager import silencer
from web.api import auth, cursor
from web.api import examples as ex
from web.api.registry import Call, Endpoint, Registry
from web.api.schema import Body, Field, Query
from web.api.shapes import alert_json, event_json, incident_json, page_of, ref, rfc3339

LIST = Query(
    (
        Field("status", "string", "only incidents in this status", enum=tuple(s.value for s in Status)),
        Field("severity", "string", "only incidents of this severity", enum=SEVERITIES),
        Field("team", "string", "only incidents whose `team` label is this", min_length=1, max_length=200),
        Field("q", "string", "text to find in the title or summary", min_length=1, max_length=200),
        Field("since", "string", "created at or after (RFC 3339)", format="date-time"),
        Field("until", "string", "created before (RFC 3339)", format="date-time"),
        Field("sort", "string", "order of the list", enum=tuple(listing.INCIDENT_SORTS), default="-created_at"),
        Field("limit", "integer", "page size", minimum=1, maximum=500, default=50),
        Field("cursor", "string", "next_cursor of the previous page", min_length=1, max_length=500),
    )
)
OPEN = Body(
    "OpenIncident",
    (
        Field("title", "string", "what is wrong", required=True, min_length=1, max_length=300, pattern=r"\S"),
        Field("severity", "string", "how bad", enum=SEVERITIES, default="warning"),
        Field("description", "string", "details", max_length=10_000, default=""),
    ),
)
BY = Field("by", "string", "who takes it: a config user id or any name (default: the token's actor)",
           min_length=1, max_length=200, pattern=r"\S")
ACK = Body("Acknowledge", (BY,), optional=True)
RESOLVE = Body(
    "Resolve", (BY, Field("note", "string", "why or how it was resolved", min_length=1, max_length=10_000)),
    optional=True,
)
NOTE = Body("Note", (Field("text", "string", "the note", required=True, min_length=1, max_length=10_000,
                           pattern=r"\S"),))
SILENCE = Body("Silence", (Field("duration", "string", "how long: 1m to 30d, such as 30m, 2h or 1d", required=True,
                                 min_length=2, max_length=10, pattern=r"^\d+[mhd]$"),))
ONE = (404,)
WRITE_ERRORS = (400, 404, 409, 413, 415)


def _db() -> Database:
    return current_app.extensions["tocsin"].db


def _delivery_json(status: dict[str, Any]) -> dict[str, Any]:
    """Per-channel delivery status with its times in RFC 3339."""
    return {
        channel: {**info, "targets": [{**t, "sent_at": rfc3339(t["sent_at"])} for t in info["targets"]]}
        for channel, info in status.items()
    }


async def _detail(incident_id: int, public_url: str) -> dict[str, Any]:
    async with _db().connection() as conn:
        incident = await incidents_sql.get(conn, incident_id)
        alerts = await alerts_sql.list_for_incident(conn, incident_id)
        events = await events_sql.list_for_incident(conn, incident_id)
        delivery = (await deliveries.status_of(conn, [incident_id]))[incident_id]
    return {
        **incident_json(incident, public_url),
        "alerts": [alert_json(a) for a in alerts],
        "timeline": [event_json(e) for e in events],
        "deliveries": _delivery_json(delivery),
    }


def register(api: Registry, public_url: str, anonymous_read: bool, alertmanager_url: str | None = None) -> None:
    """Add the incident endpoints to the registry."""
    alertmanager = silencer(alertmanager_url)

    @api.route(Endpoint("GET", "/api/v1/incidents", "listIncidents", "List incidents", auth.READ,
                        page_of("Incident"), query=LIST,
                        example={"items": [ex.INCIDENT], "next_cursor": ex.CURSOR}), anonymous_read)
    async def list_incidents(call: Call) -> dict[str, Any]:
        q = call.query
        sort = listing.INCIDENT_SORTS[q["sort"]]
        after = cursor.decode(q["cursor"], f"incidents{q['sort']}", sort.kinds)
        filters = listing.IncidentFilter(q["status"], q["severity"], q["team"], q["q"], q["since"], q["until"])
        async with _db().connection() as conn:
            page = await listing.list_incidents(conn, filters, q["sort"], q["limit"], after)
        return {
            "items": [incident_json(i, public_url) for i in page.items],
            "next_cursor": cursor.encode(f"incidents{q['sort']}", page.next_key),
        }

    @api.route(Endpoint("GET", "/api/v1/incidents/{id}", "getIncident", "One incident with its alerts and timeline",
                        auth.READ, ref("IncidentDetail"), errors=ONE, example=ex.DETAIL), anonymous_read)
    async def get_incident(call: Call) -> dict[str, Any]:
        return await _detail(call.path["id"], public_url)

    @api.route(Endpoint("POST", "/api/v1/incidents", "openIncident", "Open an incident by hand", auth.WRITE,
                        ref("Incident"), status=201, body=OPEN, errors=(400, 413, 415), example=ex.MANUAL,
                        request_example={"title": "Checkout is down", "severity": "critical",
                                         "description": "Customers report 502s since 19:00"}), anonymous_read)
    async def open_incident(call: Call) -> dict[str, Any]:
        b = call.body
        routes = current_app.extensions["tocsin"].routes
        result = await lifecycle.open_manual(
            _db(), b["title"], b["severity"], b["description"], call.principal.actor, ActionSource.API,
            channels=manual_channels(routes, b["severity"]),
        )
        return incident_json(result.incident, public_url)

    @api.route(Endpoint("POST", "/api/v1/incidents/{id}/acknowledge", "acknowledgeIncident",
                        "Acknowledge an incident (409 unless it is triggered)", auth.WRITE, ref("Incident"),
                        body=ACK, errors=WRITE_ERRORS, example=ex.ACKNOWLEDGED, request_example={"by": "alice"}),
               anonymous_read)
    async def acknowledge(call: Call) -> dict[str, Any]:
        result = await lifecycle.acknowledge(
            _db(), call.path["id"], call.principal.actor, ActionSource.API, assignee=call.body["by"]
        )
        return incident_json(result.incident, public_url)

    @api.route(Endpoint("POST", "/api/v1/incidents/{id}/resolve", "resolveIncident",
                        "Resolve an incident (409 when it is already resolved)", auth.WRITE, ref("Incident"),
                        body=RESOLVE, errors=WRITE_ERRORS, example=ex.RESOLVED,
                        request_example={"by": "alice", "note": "Rolled back release 2026.11.26-3"}), anonymous_read)
    async def resolve(call: Call) -> dict[str, Any]:
        result = await lifecycle.resolve(
            _db(), call.path["id"], call.principal.actor, ActionSource.API, call.body["note"],
            resolver=call.body["by"],
        )
        return incident_json(result.incident, public_url)

    @api.route(Endpoint("POST", "/api/v1/incidents/{id}/notes", "addNote", "Add a note to the timeline",
                        auth.WRITE, ref("Event"), status=201, body=NOTE, errors=(400, 404, 413, 415),
                        example=ex.NOTE_EVENT, request_example={"text": "Rolled back release 2026.11.26-3"}),
               anonymous_read)
    async def add_note(call: Call) -> dict[str, Any]:
        result = await lifecycle.add_note(
            _db(), call.path["id"], call.principal.actor, ActionSource.API, call.body["text"]
        )
        return event_json(result.events[0])

    @api.route(Endpoint("POST", "/api/v1/incidents/{id}/silence", "silenceIncident",
                        "Silence the incident's firing alerts in Alertmanager (409 when resolved or ALERTMANAGER_URL "
                        "is unset; 503 when Alertmanager fails)", auth.WRITE, ref("Event"), status=201,
                        body=SILENCE, errors=(*WRITE_ERRORS, 503), example=ex.SILENCE_EVENT,
                        request_example={"duration": "1h"}), anonymous_read)
    async def silence(call: Call) -> dict[str, Any]:
        try:
            seconds = parse_duration(call.body["duration"])
        except BadDuration as exc:
            raise Invalid("duration", str(exc)) from None
        result = await silence_incident(
            _db(), alertmanager, call.path["id"], seconds, call.principal.actor, ActionSource.API
        )
        return event_json(result.events[0])
