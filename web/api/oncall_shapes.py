"""JSON shapes of maintenance windows and heartbeats: the functions that build them, their schemas and examples."""

from __future__ import annotations

from typing import Any

from store.domain.config_fields import format_span
from store.domain.heartbeats import DOWN, INACTIVE, MUTED, UP
from store.heartbeats import HeartbeatView
from store.maintenance import WindowView
from web.api.shapes import NULLABLE_STRING, NULLABLE_TIME, STRING_MAP, rfc3339


def window_json(view: WindowView) -> dict[str, Any]:
    """A maintenance window: where it is declared, what it covers, its period in force or next."""
    window, rule = view.window, view.window.recurrence
    start, end = view.period or (None, None)
    return {
        "id": window.id,
        "source": window.source,
        "match": window.match_text(),
        "from": rfc3339(start),
        "until": rfc3339(end),
        "active": view.active,
        "rrule": rule.text if rule else None,
        "timezone": rule.zone.key if rule else None,
        "duration": format_span(rule.duration) if rule else None,
        "silence": window.silence,
        "silence_ids": list(window.silence_ids),
        "created_by": window.created_by,
        "comment": window.comment,
    }


def heartbeat_json(view: HeartbeatView) -> dict[str, Any]:
    """A heartbeat and its state (its token never shows)."""
    state = view.state
    return {
        "id": view.heartbeat.id,
        "timeout_seconds": int(view.heartbeat.timeout.total_seconds()),
        "last_seen_at": rfc3339(state.last_seen_at if state else None),
        "status": view.status,
        "down_since": rfc3339(state.down_since if state else None),
        "muted_until": rfc3339(state.muted_until if state else None),
        "labels": dict(view.heartbeat.labels),
    }


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


WINDOW = _object({
    "id": {"type": "string"},
    "source": {"type": "string", "enum": ["config", "api"]},
    "match": {"type": "array", "items": {"type": "string"}},
    "from": NULLABLE_TIME,
    "until": NULLABLE_TIME,
    "active": {"type": "boolean"},
    "rrule": NULLABLE_STRING,
    "timezone": NULLABLE_STRING,
    "duration": NULLABLE_STRING,
    "silence": {"type": "boolean"},
    "silence_ids": {"type": "array", "items": {"type": "string"}},
    "created_by": NULLABLE_STRING,
    "comment": {"type": "string"},
})
HEARTBEAT = _object({
    "id": {"type": "string"},
    "timeout_seconds": {"type": "integer", "minimum": 1},
    "last_seen_at": NULLABLE_TIME,
    "status": {"type": "string", "enum": [INACTIVE, UP, DOWN, MUTED]},
    "down_since": NULLABLE_TIME,
    "muted_until": NULLABLE_TIME,
    "labels": STRING_MAP,
})
SCHEMAS = {"MaintenanceWindow": WINDOW, "Heartbeat": HEARTBEAT}


def items_of(name: str) -> dict[str, Any]:
    """A list answer: {"items": [...]} of a component schema."""
    return _object({"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}})

WINDOW_EXAMPLE = {
    "id": "mw-3", "source": "api", "match": ['service="db"'], "from": "2026-11-26T19:00:00Z",
    "until": "2026-11-26T21:00:00Z", "active": True, "rrule": None, "timezone": None, "duration": None,
    "silence": False, "silence_ids": [], "created_by": "alice", "comment": "disk swap on db-1",
}
WEEKLY_EXAMPLE = {
    "id": "saturday-db", "source": "config", "match": ['service="db"', 'env="prod"'],
    "from": "2026-11-28T01:00:00Z", "until": "2026-11-28T03:00:00Z", "active": False,
    "rrule": "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0;BYSECOND=0", "timezone": "Europe/Berlin", "duration": "2h",
    "silence": True, "silence_ids": [], "created_by": None, "comment": "",
}
HEARTBEAT_EXAMPLE = {
    "id": "alertmanager", "timeout_seconds": 300, "last_seen_at": "2026-11-26T19:02:30Z", "status": "up",
    "down_since": None, "muted_until": None,
    "labels": {"alertname": "HeartbeatMissing", "heartbeat": "alertmanager", "severity": "critical"},
}
