"""Incident values for Telegram tests: the shared factory with a disk-full incident of two firing alerts."""

from __future__ import annotations

from typing import Any

from store.models import Incident
from tests.support.incident_values import T0
from tests.support.incident_values import make_incident as make_base_incident

__all__ = ["T0", "make_incident"]

DISK_FULL: dict[str, Any] = {
    "group_key": '{}:{alertname="DiskFull"}',
    "title": "Disk almost full on db-1",
    "summary": "/var/lib/postgresql is 97% full",
    "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "severity": "critical"},
    "group_labels": {"alertname": "DiskFull"},
    "links": {
        "source": "http://prometheus:9090/graph?g0.expr=disk_free%20%3C%203&g0.tab=1",
        "runbook": "https://runbooks.example.com/disk-full",
        "alertmanager": "http://alertmanager:9093/#/alerts?filter=%7Balertname%3D%22DiskFull%22%7D",
    },
    "alert_count": 2,
}


def make_incident(**changes: Any) -> Incident:
    """A triggered incident of two firing alerts; keyword arguments replace fields."""
    return make_base_incident(**{**DISK_FULL, **changes})
