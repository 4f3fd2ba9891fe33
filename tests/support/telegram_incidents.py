"""Incident values for tests that render or route them without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from store.domain.incident import Status
from store.models import Incident

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make_incident(**changes: Any) -> Incident:
    """A triggered incident of two firing alerts; keyword arguments replace fields."""
    incident = Incident(
        id=42,
        group_key="{}:{alertname=\"DiskFull\"}",
        route_id="default",
        source="alertmanager",
        status=Status.TRIGGERED,
        severity="critical",
        title="Disk almost full on db-1",
        summary="/var/lib/postgresql is 97% full",
        description="",
        labels={"alertname": "DiskFull", "instance": "db-1:9100", "severity": "critical"},
        group_labels={"alertname": "DiskFull"},
        links={
            "source": "http://prometheus:9090/graph?g0.expr=disk_free%20%3C%203&g0.tab=1",
            "runbook": "https://runbooks.example.com/disk-full",
            "alertmanager": "http://alertmanager:9093/#/alerts?filter=%7Balertname%3D%22DiskFull%22%7D",
        },
        external_url="http://alertmanager:9093",
        alert_count=2,
        firing_alert_count=2,
        auto_resolve=True,
        reopen_count=0,
        created_at=T0,
        updated_at=T0,
        triggered_at=T0,
        acknowledged_at=None,
        acknowledged_by=None,
        resolved_at=None,
        resolved_by=None,
    )
    return replace(incident, **changes)
