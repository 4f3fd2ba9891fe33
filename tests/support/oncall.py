"""Webhook bodies, a config and peeks at the store for the maintenance, flapping and heartbeat tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from store.db import Database
from store.domain.config_schema import Config, parse_config
from store.ingest import ingest_batch
from webhook.alertmanager import parse_webhook

T0 = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)


def webhook(alerts: list[dict[str, Any]], group: str = "Disk") -> dict[str, Any]:
    """An Alertmanager webhook body (version 4) with these alerts in one group."""
    return {
        "version": "4", "groupKey": f'{{}}:{{alertname="{group}"}}', "truncatedAlerts": 0, "receiver": "tocsin",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "groupLabels": {"alertname": group}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093", "alerts": alerts,
    }


def alert(fingerprint: str, labels: Mapping[str, str], starts_at: datetime, status: str = "firing",
          ends_at: datetime | None = None) -> dict[str, Any]:
    """One alert of a webhook body."""
    ends = (ends_at or starts_at + timedelta(minutes=1)) if status == "resolved" else None
    return {
        "status": status, "labels": {"alertname": "Disk", **labels}, "annotations": {"summary": "disk full"},
        "startsAt": starts_at.isoformat().replace("+00:00", "Z"),
        "endsAt": ends.isoformat().replace("+00:00", "Z") if ends else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example:9090/graph", "fingerprint": fingerprint,
    }


def oncall_config(**extra: Any) -> Config:
    """Alice pages at once for db alerts (Slack channel and mail); extra top-level sections and route keys."""
    route = {"id": "db", "match": ['service="db"'], "escalation": "now", "slack_channel": "C0DB",
             "email": ["dba@example.com"], "reopen_within": "5m", **extra.pop("route", {})}
    data = {
        "users": [{"id": "alice", "name": "Alice Example", "email": "alice@example.com", "slack_id": "U01ALICE"}],
        "escalation_policies": [{"id": "now", "steps": [{"after": "0m", "notify": ["user:alice"]}]}],
        "routes": [route, {"id": "rest", "slack_channel": "C0OPS"}],
        **extra,
    }
    return parse_config(data)


async def ingest(db: Database, config: Config, at: datetime, alerts: list[dict[str, Any]],
                 group: str = "Disk") -> list[int]:
    """Ingest one webhook at instant `at`; the incidents it touched."""
    result = await ingest_batch(db, parse_webhook(webhook(alerts, group)), config.routes, lambda: at)
    return result.incident_ids


async def incident_row(db: Database, incident_id: int) -> dict[str, Any]:
    async with db.connection() as conn:
        return dict(await conn.fetchrow("SELECT * FROM incidents WHERE id = $1", incident_id))


async def events_of(db: Database, incident_id: int, *kinds: str) -> list[tuple[str, str]]:
    """(kind, message) of the incident's timeline entries (of these kinds, when given)."""
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT kind, message FROM incident_events WHERE incident_id = $1 ORDER BY id",
                                incident_id)
    return [(r["kind"], r["message"]) for r in rows if not kinds or r["kind"] in kinds]


async def deliveries_of(db: Database, incident_id: int, channel: str) -> list[dict[str, Any]]:
    """The incident's queued messages to one channel, oldest first."""
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT kind, target, event_kind FROM deliveries WHERE incident_id = $1 AND "
                                "channel = $2 ORDER BY id", incident_id, channel)
    return [dict(r) for r in rows]


async def escalated(db: Database, incident_id: int) -> int:
    """How many escalation steps paged."""
    async with db.connection() as conn:
        return await conn.fetchval("SELECT count(*) FROM incident_events WHERE incident_id = $1 "
                                   "AND kind = 'escalated'", incident_id)
