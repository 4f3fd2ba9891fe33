"""JSON shapes of the API's objects: the functions that build them and the schemas that describe them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from store.domain.incident import SEVERITIES, Status
from store.domain.links import incident_url
from store.domain.sla import KINDS, SlaStatus
from store.domain.templates import ChecklistItem
from store.models import Alert, Event, Incident


def rfc3339(value: datetime | None) -> str | None:
    """An aware time as RFC 3339 UTC ('Z'), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sla_json(sla: SlaStatus | None) -> dict[str, Any]:
    """Due times of the incident's SLA targets (null: no target) and the kinds breached."""
    if sla is None:
        return {"ack_due_at": None, "resolve_due_at": None, "breached": []}
    return {"ack_due_at": rfc3339(sla.ack_due_at), "resolve_due_at": rfc3339(sla.resolve_due_at),
            "breached": list(sla.breached)}


def incident_json(incident: Incident, public_url: str, sla: SlaStatus | None = None) -> dict[str, Any]:
    """An incident as CONTRACT section 3 shows it, with where it stands against its SLA."""
    return {
        "id": incident.id,
        "title": incident.title,
        "status": incident.status.value,
        "severity": incident.severity,
        "labels": incident.labels,
        "summary": incident.summary,
        "description": incident.description,
        "links": incident.links,
        "source": incident.source,
        "route": incident.route_id,
        "group_labels": incident.group_labels,
        "alert_count": incident.alert_count,
        "firing_alert_count": incident.firing_alert_count,
        "reopen_count": incident.reopen_count,
        "created_at": rfc3339(incident.created_at),
        "updated_at": rfc3339(incident.updated_at),
        "triggered_at": rfc3339(incident.triggered_at),
        "acknowledged_at": rfc3339(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": rfc3339(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "url": incident_url(public_url, incident.id),
        "sla": sla_json(sla),
        "tickets": incident.tickets,
        "maintenance": incident.maintenance_id,
        "flapping": incident.flapping,
    }


def checklist_json(item: ChecklistItem) -> dict[str, Any]:
    """One checklist step: its number (from 1), text, and who checked it when."""
    return {"index": item.index, "text": item.text, "done": item.done, "done_by": item.done_by,
            "done_at": rfc3339(item.done_at)}


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert instance."""
    return {
        "id": alert.id,
        "incident_id": alert.incident_id,
        "fingerprint": alert.fingerprint,
        "status": alert.status,
        "starts_at": rfc3339(alert.starts_at),
        "ends_at": rfc3339(alert.ends_at),
        "labels": alert.labels,
        "annotations": alert.annotations,
        "generator_url": alert.generator_url,
        "created_at": rfc3339(alert.created_at),
        "updated_at": rfc3339(alert.updated_at),
        "last_received_at": rfc3339(alert.last_received_at),
        "receive_count": alert.receive_count,
    }


def event_json(event: Event) -> dict[str, Any]:
    """A timeline entry."""
    return {
        "id": event.id,
        "incident_id": event.incident_id,
        "kind": event.kind,
        "actor": event.actor,
        "source": event.source,
        "message": event.message,
        "data": event.data,
        "created_at": rfc3339(event.created_at),
    }


TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
NULLABLE_STRING = {"type": ["string", "null"]}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


INCIDENT = _object(
    {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in Status]},
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "labels": STRING_MAP,
        "summary": {"type": "string"},
        "description": {"type": "string"},
        "links": STRING_MAP,
        "source": {"type": "string"},
        "route": {"type": "string"},
        "group_labels": STRING_MAP,
        "alert_count": {"type": "integer", "minimum": 0},
        "firing_alert_count": {"type": "integer", "minimum": 0},
        "reopen_count": {"type": "integer", "minimum": 0},
        "created_at": TIME,
        "updated_at": TIME,
        "triggered_at": TIME,
        "acknowledged_at": NULLABLE_TIME,
        "acknowledged_by": NULLABLE_STRING,
        "resolved_at": NULLABLE_TIME,
        "resolved_by": NULLABLE_STRING,
        "url": {"type": "string"},
        "sla": _object(
            {
                "ack_due_at": NULLABLE_TIME,
                "resolve_due_at": NULLABLE_TIME,
                "breached": {"type": "array", "items": {"type": "string", "enum": list(KINDS)}},
            }
        ),
        "tickets": {
            "type": "array",
            "description": "issues opened for the incident elsewhere (a route's jira key)",
            "items": _object({"system": {"type": "string", "enum": ["jira"]}, "key": {"type": "string"},
                              "url": {"type": "string"}}),
        },
        "maintenance": {"type": ["string", "null"], "description": "the maintenance window it is in (no pages)"},
        "flapping": {"type": "boolean", "description": "its group keeps changing state: quiet until stable"},
    }
)
ALERT = _object(
    {
        "id": {"type": "integer"},
        "incident_id": {"type": "integer"},
        "fingerprint": {"type": "string"},
        "status": {"type": "string", "enum": ["firing", "resolved"]},
        "starts_at": TIME,
        "ends_at": NULLABLE_TIME,
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "generator_url": {"type": "string"},
        "created_at": TIME,
        "updated_at": TIME,
        "last_received_at": TIME,
        "receive_count": {"type": "integer", "minimum": 1},
    }
)
EVENT = _object(
    {
        "id": {"type": "integer"},
        "incident_id": {"type": "integer"},
        "kind": {"type": "string"},
        "actor": {"type": "string"},
        "source": {"type": "string"},
        "message": {"type": "string"},
        "data": {"type": "object"},
        "created_at": TIME,
    }
)
CHECKLIST_ITEM = _object(
    {
        "index": {"type": "integer", "minimum": 1},
        "text": {"type": "string"},
        "done": {"type": "boolean"},
        "done_by": NULLABLE_STRING,
        "done_at": NULLABLE_TIME,
    }
)
ERROR = _object(
    {
        "error": _object(
            {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            }
        )
    }
)
DURATIONS = _object({k: {"type": ["number", "null"]} for k in ("mean", "p50", "p90")})
COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
STATS = _object(
    {
        "since": TIME,
        "until": TIME,
        "by_status": COUNTS,
        "by_severity": COUNTS,
        "mtta_seconds": DURATIONS,
        "mttr_seconds": DURATIONS,
        "daily": {
            "type": "array",
            "items": _object(
                {
                    "date": {"type": "string", "format": "date"},
                    "opened": {"type": "integer"},
                    "resolved": {"type": "integer"},
                }
            ),
        },
    }
)
PERCENTILES = _object({k: {"type": ["number", "null"]} for k in ("p50", "p90")})
NULLABLE_PERCENT = {"type": ["number", "null"], "minimum": 0, "maximum": 100}
COUNT = {"type": "integer", "minimum": 0}
REPORT_FIGURES = {
    "incidents": COUNT,
    "ack_met": COUNT,
    "ack_breached": COUNT,
    "ack_attainment_percent": NULLABLE_PERCENT,
    "resolve_met": COUNT,
    "resolve_breached": COUNT,
    "resolve_attainment_percent": NULLABLE_PERCENT,
    "breaches": COUNT,
    "mtta_seconds": PERCENTILES,
    "mttr_seconds": PERCENTILES,
}
SLA_REPORT = _object(
    {
        "since": TIME,
        "until": TIME,
        "group_by": {"type": "string", "enum": ["route", "severity", "team"]},
        "groups": {"type": "array", "items": _object({"group": NULLABLE_STRING, **REPORT_FIGURES})},
        "total": _object(REPORT_FIGURES),
        "weekly": {"type": "array", "items": _object({"week": {"type": "string", "format": "date"},
                                                       **REPORT_FIGURES})},
    }
)
POSTMORTEM = _object(
    {
        "incident_id": {"type": "integer"},
        "status": {"type": "string", "enum": ["draft", "published"]},
        "markdown": {"type": "string"},
        "version": {"type": "integer", "minimum": 0, "description": "0: the filled-in draft, not saved yet"},
        "saved": {"type": "boolean"},
        "updated_by": NULLABLE_STRING,
        "updated_at": NULLABLE_TIME,
        "published_at": NULLABLE_TIME,
        "action_items": {"type": "array", "items": _object(
            {"text": {"type": "string"}, "owner": NULLABLE_STRING, "done": {"type": "boolean"}})},
        "url": {"type": "string"},
    }
)
COMPONENTS: dict[str, dict[str, Any]] = {
    "Incident": INCIDENT,
    "Alert": ALERT,
    "Event": EVENT,
    "Error": ERROR,
    "ChecklistItem": CHECKLIST_ITEM,
    "Stats": STATS,
    "SlaReport": SLA_REPORT,
    "Postmortem": POSTMORTEM,
    "IncidentDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Incident"},
            _object(
                {
                    "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                    "timeline": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                    "deliveries": {
                        "type": "object",
                        "description": "delivery status per channel: {channel: {state, targets: [...]}}",
                        "additionalProperties": {"type": "object"},
                    },
                    "template": {**NULLABLE_STRING, "description": "the response template it was opened from"},
                    "runbooks": {"type": "array", "items": {"type": "string"}},
                    "checklist": {"type": "array", "items": {"$ref": "#/components/schemas/ChecklistItem"}},
                }
            ),
        ]
    },
    "AlertDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Alert"},
            _object({"incident": {"$ref": "#/components/schemas/Incident"}}),
        ]
    },
}


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(name: str) -> dict[str, Any]:
    """A list page: items and next_cursor (null on the last page)."""
    return _object({"items": {"type": "array", "items": ref(name)}, "next_cursor": NULLABLE_STRING})
