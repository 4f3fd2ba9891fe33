"""Incident and timeline values for tests that need no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from store.domain.incident import Status
from store.models import Event, Incident

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make_incident(**overrides: Any) -> Incident:
    """A firing, triggered incident as ingest would store it; override any field."""
    values: dict[str, Any] = {
        "id": 42,
        "group_key": 'default|am|{}:{alertname="HighErrorRate"}',
        "route_id": "default",
        "source": "alertmanager",
        "status": Status.TRIGGERED,
        "severity": "critical",
        "title": "High error rate on checkout",
        "summary": "5xx ratio above 5% for 10 minutes",
        "description": "",
        "labels": {"alertname": "HighErrorRate", "severity": "critical", "service": "checkout", "zone": "eu-1"},
        "group_labels": {"alertname": "HighErrorRate"},
        "links": {
            "source": "http://prometheus:9090/graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1",
            "runbook": "https://runbooks.example.com/checkout",
            "alertmanager": "http://alertmanager:9093/#/alerts?filter=%7Balertname%3D%22HighErrorRate%22%7D",
        },
        "external_url": "http://alertmanager:9093",
        "alert_count": 3,
        "firing_alert_count": 2,
        "auto_resolve": True,
        "reopen_count": 0,
        "created_at": T0,
        "updated_at": T0,
        "triggered_at": T0,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
    }
    values.update(overrides)
    return Incident(**values)


def make_event(kind: str, actor: str = "alertmanager", source: str = "alertmanager", **overrides: Any) -> Event:
    """A timeline entry of incident 42."""
    values: dict[str, Any] = {
        "id": 1,
        "incident_id": 42,
        "kind": kind,
        "actor": actor,
        "source": source,
        "message": "",
        "data": {},
        "created_at": T0,
    }
    values.update(overrides)
    return Event(**values)
