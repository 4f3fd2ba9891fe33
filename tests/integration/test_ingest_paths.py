"""The ingest service's shortcuts against real PostgreSQL: each gives the same result as the long way."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from store.db import Database
from store.domain.routing import RouteTable
from store.ingest import ingest_batch
from tests.conftest import load_sample
from webhook.alertmanager import parse_webhook

T0 = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)


async def ingest(db: Database, body: dict, now: datetime = T0):
    return await ingest_batch(db, parse_webhook(body), RouteTable(), lambda: now)


async def row(db: Database, sql: str, *args) -> dict:
    async with db.connection() as conn:
        return dict(await conn.fetchrow(sql, *args))


async def test_a_repeat_leaves_the_incident_row_untouched(db: Database) -> None:
    body = load_sample("02_firing_group_3alerts_curl_added.json")
    opened = await ingest(db, body)
    before = await row(db, "SELECT * FROM incidents WHERE id = $1", opened.incident_ids[0])
    await ingest(db, copy.deepcopy(body), T0.replace(minute=30))
    after = await row(db, "SELECT * FROM incidents WHERE id = $1", opened.incident_ids[0])
    assert after == before
    alert = await row(db, "SELECT receive_count, last_received_at FROM alerts_seen ORDER BY id LIMIT 1")
    assert alert["receive_count"] == 2 and alert["last_received_at"] == T0.replace(minute=30)


async def test_a_changed_annotation_refreshes_the_incident(db: Database) -> None:
    body = load_sample("05_firing_from_prometheus.json")
    opened = await ingest(db, body)
    changed = copy.deepcopy(body)
    changed["alerts"][0]["annotations"]["summary"] = "a brand new summary"
    await ingest(db, changed)
    incident = await row(db, "SELECT title, summary FROM incidents WHERE id = $1", opened.incident_ids[0])
    assert incident == {"title": "a brand new summary", "summary": "a brand new summary"}


async def test_an_alert_moving_to_another_group_updates_both_incidents(db: Database) -> None:
    body = load_sample("02_firing_group_3alerts_curl_added.json")
    first = await ingest(db, body)
    moved = copy.deepcopy(body)
    moved["groupKey"] = '{}:{alertname="Elsewhere"}'
    moved["alerts"] = moved["alerts"][:1]
    second = await ingest(db, moved)
    assert second.incident_ids != first.incident_ids
    old = await row(db, "SELECT alert_count, firing_alert_count FROM incidents WHERE id = $1", first.incident_ids[0])
    new = await row(db, "SELECT alert_count, firing_alert_count FROM incidents WHERE id = $1", second.incident_ids[0])
    assert old == {"alert_count": 2, "firing_alert_count": 2}
    assert new == {"alert_count": 1, "firing_alert_count": 1}


async def test_two_instances_in_one_body_the_older_ends_when_the_next_started(db: Database) -> None:
    body = load_sample("05_firing_from_prometheus.json")
    alert = body["alerts"][0]
    second, third = copy.deepcopy(alert), copy.deepcopy(alert)
    second["startsAt"], third["startsAt"] = "2026-11-26T19:10:00Z", "2026-11-26T19:20:00Z"
    body["alerts"] = [third, alert, second]
    result = await ingest(db, body)
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT status, ends_at FROM alerts ORDER BY starts_at")
        kinds = await conn.fetch("SELECT kind FROM incident_events ORDER BY id")
    assert [r["status"] for r in rows] == ["resolved", "resolved", "firing"]
    next_starts = [datetime(2026, 11, 26, 19, 10, tzinfo=UTC), datetime(2026, 11, 26, 19, 20, tzinfo=UTC)]
    assert [r["ends_at"] for r in rows[:2]] == next_starts
    assert [k["kind"] for k in kinds].count("alert_superseded") == 2
    counts = "SELECT alert_count, firing_alert_count FROM incidents WHERE id = $1"
    incident = await row(db, counts, result.incident_ids[0])
    assert incident == {"alert_count": 3, "firing_alert_count": 1}
