"""Opening and changing incidents in tests, through the store's own write path (timeline.record)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from store.db import Database
from store.domain.routing import Route, RouteTable
from store.ingest import ingest_batch
from store.models import NewEvent
from store.sql import incidents as incidents_sql
from store.timeline import record
from tests.conftest import load_sample
from webhook.alertmanager import parse_webhook

ROUTES = RouteTable(
    default=Route(id="default", slack_channel="C0OPS", telegram_chats=("-1001",), email=("ops@example.com",))
)
EMAIL_ONLY = RouteTable(default=Route(id="default", email=("ops@example.com",)))


def firing_body(group: str, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict:
    """A one-alert firing webhook of its own group (a new incident per group)."""
    body = copy.deepcopy(load_sample("05_firing_from_prometheus.json"))
    body["groupKey"] = f'{{}}:{{group="{group}"}}'
    alert = body["alerts"][0]
    alert["fingerprint"] = f"fp-{group}"
    alert["labels"] = {**alert["labels"], "group": group, **(labels or {})}
    alert["annotations"] = {**alert["annotations"], **(annotations or {})}
    body["commonLabels"] = dict(alert["labels"])
    body["groupLabels"] = {"group": group}
    body["commonAnnotations"] = dict(alert["annotations"])
    return body


async def open_incident(db: Database, group: str = "g1", routes: RouteTable = ROUTES, **kwargs: Any) -> int:
    """Ingest a firing alert of a new group; returns the incident id."""
    result = await ingest_batch(db, parse_webhook(firing_body(group, **kwargs)), routes)
    return result.incident_ids[0]


async def act(db: Database, incident_id: int, kind: str, actor: str = "alice", message: str = "") -> None:
    """Acknowledge, resolve (status and event) or add another timeline entry, in one transaction."""
    async with db.transaction() as conn:
        if kind in ("acknowledged", "resolved"):
            await incidents_sql.set_status(conn, incident_id, kind, actor, datetime.now(UTC))
        await record(conn, [NewEvent(incident_id, kind, actor, "api", message or f"{kind.capitalize()} by {actor}")])


async def rows(db: Database, incident_id: int | None = None) -> list[dict]:
    """Delivery rows, oldest first."""
    async with db.connection() as conn:
        found = await conn.fetch(
            "SELECT * FROM deliveries WHERE $1::bigint IS NULL OR incident_id = $1 ORDER BY id", incident_id
        )
    return [dict(r) for r in found]
