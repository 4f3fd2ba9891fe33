"""OpenAPI operations of the routes served outside the endpoint registry: the Alertmanager webhook (its
own bearer token, Alertmanager's body), who is on call and the iCalendar feeds (answered from the config
file, not the database). A test checks that every /api/ route of the app appears in the document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from store.domain.config_schema import parse_config
from store.domain.ical import render_calendar
from store.domain.schedule import Shift
from web.api.openapi import ERROR_TEXT, error_response, read_security
from web.api.shapes import NULLABLE_TIME

ONCALL = {
    "type": "object",
    "required": ["schedules"],
    "properties": {
        "schedules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "user", "since", "until"],
                "properties": {
                    "id": {"type": "string"},
                    "user": {"type": ["string", "null"], "description": "null when nobody is on call"},
                    "since": NULLABLE_TIME,
                    "until": NULLABLE_TIME,
                },
            },
        }
    },
}
ONCALL_EXAMPLE = {
    "schedules": [
        {"id": "primary", "user": "alice", "since": "2026-11-23T08:00:00Z", "until": "2026-11-30T08:00:00Z"}
    ]
}



def _calendar_example() -> str:
    """A one-shift feed, made by the renderer the real feed uses."""
    config = parse_config({
        "users": [{"id": "alice", "name": "Alice Example"}],
        "schedules": [{"id": "primary", "timezone": "Europe/Berlin", "layers": [
            {"participants": ["alice"], "rotation": "weekly", "handoff": "Mon 09:00", "start": "2026-11-23"}]}],
    })
    shift = Shift("alice", datetime(2026, 11, 23, 8, tzinfo=UTC), datetime(2026, 11, 30, 8, tzinfo=UTC))
    return render_calendar(config.schedules[0], [shift], {"alice": "Alice Example"}, shift.start)


CALENDAR_EXAMPLE = _calendar_example()

WEBHOOK_BODY_EXAMPLE = {
    "version": "4",
    "groupKey": '{}:{alertname="HighLatency"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "tocsin",
    "groupLabels": {"alertname": "HighLatency"},
    "commonLabels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical"},
    "commonAnnotations": {"summary": "p99 latency of checkout is above 2s"},
    "externalURL": "http://alertmanager.example:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical"},
            "annotations": {"summary": "p99 latency of checkout is above 2s"},
            "startsAt": "2026-11-26T19:02:30.123Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=...",
            "fingerprint": "b4c8f2a1d3e5f607",
        }
    ],
}
WEBHOOK_ANSWER = {
    "type": "object",
    "required": ["incidents", "skipped"],
    "properties": {
        "incidents": {"type": "array", "items": {"type": "integer"}, "description": "the incidents it touched"},
        "skipped": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": True},
            "description": "alerts left out, each with the reason",
        },
    },
}


PING_ANSWER = {
    "type": "object",
    "required": ["id", "counted"],
    "properties": {
        "id": {"type": "string"},
        "counted": {"type": "boolean", "description": "false for an Alertmanager webhook whose alerts all resolved"},
        "status": {"type": "string", "enum": ["up", "muted"]},
        "last_seen_at": {"type": ["string", "null"], "format": "date-time"},
        "reason": {"type": "string"},
    },
}
PING = {
    "post": {
        "operationId": "pingHeartbeat",
        "tags": ["heartbeats"],
        "summary": "A heartbeat's ping: any body, or an Alertmanager webhook (route the always-firing Watchdog here)",
        "description": "Send WEBHOOK_TOKEN or the heartbeat's own token as a bearer token (with neither set, anyone "
        "may ping). A webhook whose alerts have all resolved does not count: the Watchdog resolving means its "
        "source went away.",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {}, "example": {}},
                                                        "text/plain": {"schema": {"type": "string"}}}},
        "responses": {
            "200": {"description": "Recorded", "content": {"application/json": {
                "schema": PING_ANSWER,
                "example": {"id": "alertmanager", "counted": True, "status": "up",
                            "last_seen_at": "2026-11-26T19:02:30Z"}}}},
            "401": error_response("A token is expected and the bearer token is missing or wrong"),
            "404": error_response("No heartbeat of that id in the config file"),
            "413": error_response("The body is larger than WEBHOOK_MAX_BYTES"),
            "503": error_response("Database unavailable; ping again"),
        },
        "security": [{}, {"bearerAuth": []}],
    }
}


def operations(anonymous_read: bool) -> dict[str, dict[str, Any]]:
    """Paths and operations to add to the generated document."""
    return {
        "/api/v1/heartbeats/{id}": PING,
        "/api/v1/webhooks/alertmanager": {
            "post": {
                "operationId": "alertmanagerWebhook",
                "tags": ["webhook"],
                "summary": "Alertmanager's webhook: alerts become incidents (retries are harmless)",
                "description": "Point an Alertmanager webhook receiver here. With WEBHOOK_TOKEN set, send it as "
                "a bearer token (http_config.authorization.credentials).",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}, "example": WEBHOOK_BODY_EXAMPLE}},
                },
                "responses": {
                    "200": {
                        "description": "Stored (or already stored: a retry changes nothing)",
                        "content": {"application/json": {"schema": WEBHOOK_ANSWER,
                                                         "example": {"incidents": [42], "skipped": []}}},
                    },
                    "400": error_response("The body is not JSON"),
                    "401": error_response("WEBHOOK_TOKEN is set and the bearer token is missing or wrong"),
                    "413": error_response("The body is larger than WEBHOOK_MAX_BYTES"),
                    "415": error_response("The body is not application/json"),
                    "422": error_response("Not an Alertmanager webhook body; details name the field"),
                    "429": error_response(ERROR_TEXT[429]),
                    "503": error_response("Database unavailable and nothing stored; Alertmanager retries"),
                },
                "security": [{}, {"bearerAuth": []}],
            }
        },
        "/api/v1/oncall": {
            "get": {
                "operationId": "getOncall",
                "tags": ["oncall"],
                "summary": "Who is on call now, per schedule",
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {"schema": ONCALL,
                                                                                  "example": ONCALL_EXAMPLE}}},
                    "401": error_response("Missing, unknown or revoked bearer token"),
                    "429": error_response(ERROR_TEXT[429]),
                },
                "security": read_security(anonymous_read),
            }
        },
        "/api/v1/schedules/{id}.ics": {
            "get": {
                "operationId": "getScheduleFeed",
                "tags": ["oncall"],
                "summary": "A schedule's shifts as an iCalendar feed to subscribe to",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "OK", "content": {"text/calendar": {"schema": {"type": "string"},
                                                                               "example": CALENDAR_EXAMPLE}}},
                    "401": error_response("Missing, unknown or revoked bearer token"),
                    "429": error_response(ERROR_TEXT[429]),
                    "404": error_response("No schedule of that id in the config file"),
                },
                "security": read_security(anonymous_read),
            }
        },
    }
