"""The ingest service against real PostgreSQL: identity, grouping, auto-resolve, reopen, concurrency."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta

from store.db import Database
from store.domain.routing import Route, RouteTable
from store.ingest import ingest_batch
from tests.conftest import load_sample
from webhook.alertmanager import parse_webhook

T0 = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def ingest(db: Database, body: dict, routes: RouteTable | None = None, clock: Clock | None = None):
    return await ingest_batch(db, parse_webhook(body), routes or RouteTable(), clock or Clock())


async def counts(db: Database) -> tuple[int, int, int]:
    async with db.connection() as conn:
        return (
            await conn.fetchval("SELECT count(*) FROM incidents"),
            await conn.fetchval("SELECT count(*) FROM alerts"),
            await conn.fetchval("SELECT count(*) FROM incident_events"),
        )


async def incident(db: Database, incident_id: int) -> dict:
    async with db.connection() as conn:
        return dict(await conn.fetchrow("SELECT * FROM incidents WHERE id = $1", incident_id))


async def test_firing_group_opens_one_incident_with_its_alerts(db: Database) -> None:
    result = await ingest(db, load_sample("01_firing_group_2alerts_amtool.json"))
    assert len(result.incident_ids) == 1
    row = await incident(db, result.incident_ids[0])
    assert row["status"] == "triggered"
    assert row["severity"] == "critical"  # the highest among firing alerts
    assert row["title"] == "HighLatency"  # summaries differ: alertname and group label values
    assert row["labels"] == {"alertname": "HighLatency", "service": "checkout"}
    assert row["alert_count"] == 2 and row["firing_alert_count"] == 2
    assert row["links"]["source"] == "http://prometheus.example/graph?g0.expr=latency"
    assert row["links"]["runbook"] == "https://runbooks.example/high-latency"
    assert row["links"]["alertmanager"].startswith("http://vm:19093/#/alerts?filter=")
    assert await counts(db) == (1, 2, 3)  # opened + two alerts firing


async def test_repeats_and_retries_change_nothing(db: Database) -> None:
    body = load_sample("01_firing_group_2alerts_amtool.json")
    first = await ingest(db, body)
    before = await counts(db)
    for _ in range(3):
        again = await ingest(db, copy.deepcopy(body))
        assert again.incident_ids == first.incident_ids
    assert await counts(db) == before


async def test_identity_compares_instants_not_text(db: Database) -> None:
    body = load_sample("05_firing_from_prometheus.json")
    await ingest(db, body)
    same_instant = copy.deepcopy(body)
    same_instant["alerts"][0]["startsAt"] = "2026-11-26T19:05:48.487000000Z"
    await ingest(db, same_instant)
    shifted_zone = copy.deepcopy(body)
    shifted_zone["alerts"][0]["startsAt"] = "2026-11-26T20:05:48.487+01:00"
    await ingest(db, shifted_zone)
    assert (await counts(db))[:2] == (1, 1)


async def test_resolving_one_alert_keeps_the_incident_open_and_all_resolves_it(db: Database) -> None:
    opened = await ingest(db, load_sample("02_firing_group_3alerts_curl_added.json"))
    incident_id = opened.incident_ids[0]
    await ingest(db, load_sample("03_firing_group_mixed_one_resolved.json"))
    row = await incident(db, incident_id)
    assert row["status"] == "triggered" and row["firing_alert_count"] == 2
    assert row["severity"] == "critical"  # web-3 is still critical
    await ingest(db, load_sample("04_resolved_group_2alerts.json"))
    row = await incident(db, incident_id)
    assert row["status"] == "resolved"
    assert row["resolved_by"] == "alertmanager"
    assert row["firing_alert_count"] == 0


async def test_severity_follows_firing_alerts(db: Database) -> None:
    body = load_sample("02_firing_group_3alerts_curl_added.json")
    await ingest(db, body)
    only_warning = copy.deepcopy(body)
    for alert in only_warning["alerts"]:
        if alert["labels"]["severity"] == "critical":
            alert["status"] = "resolved"
            alert["endsAt"] = "2026-11-26T19:03:00Z"
    result = await ingest(db, only_warning)
    assert (await incident(db, result.incident_ids[0]))["severity"] == "warning"


async def test_refire_within_reopen_window_reopens_later_opens_new(db: Database) -> None:
    clock = Clock()
    routes = RouteTable(default=Route(id="default", reopen_within=timedelta(minutes=5)))
    first = await ingest(db, load_sample("05_firing_from_prometheus.json"), routes, clock)
    resolved = load_sample("05_firing_from_prometheus.json")
    resolved["alerts"][0].update(status="resolved", endsAt="2026-11-26T19:06:30Z")
    await ingest(db, resolved, routes, clock)
    assert (await incident(db, first.incident_ids[0]))["status"] == "resolved"

    refire = load_sample("05_firing_from_prometheus.json")
    refire["alerts"][0]["startsAt"] = "2026-11-26T19:07:00Z"
    clock.now += timedelta(minutes=2)
    again = await ingest(db, refire, routes, clock)
    assert again.incident_ids == first.incident_ids
    row = await incident(db, first.incident_ids[0])
    assert row["status"] == "triggered" and row["reopen_count"] == 1

    resolved_again = copy.deepcopy(refire)
    resolved_again["alerts"][0].update(status="resolved", endsAt="2026-11-26T19:08:00Z")
    await ingest(db, resolved_again, routes, clock)
    later = copy.deepcopy(refire)
    later["alerts"][0]["startsAt"] = "2026-11-26T19:30:00Z"
    clock.now += timedelta(minutes=10)
    newer = await ingest(db, later, routes, clock)
    assert newer.incident_ids != first.incident_ids


async def test_newer_instance_of_a_fingerprint_supersedes_the_older(db: Database) -> None:
    opened = await ingest(db, load_sample("05_firing_from_prometheus.json"))
    result = await ingest(db, load_sample("06_resolved_from_prometheus.json"))
    assert result.incident_ids == opened.incident_ids
    row = await incident(db, opened.incident_ids[0])
    assert row["status"] == "resolved"
    assert row["firing_alert_count"] == 0


async def test_resolved_alert_of_no_incident_is_skipped(db: Database) -> None:
    result = await ingest(db, load_sample("04_resolved_group_2alerts.json"))
    assert result.incident_ids == []
    assert len(result.skipped) == 2
    assert await counts(db) == (0, 0, 0)


async def test_group_by_route_splits_a_webhook_into_incidents(db: Database) -> None:
    routes = RouteTable(default=Route(id="default", group_by=("alertname", "instance")))
    result = await ingest(db, load_sample("01_firing_group_2alerts_amtool.json"), routes)
    assert len(result.incident_ids) == 2
    titles = {(await incident(db, i))["title"] for i in result.incident_ids}
    assert titles == {"p99 latency above 2s on web-1", "p99 latency above 1s on web-2"}


async def test_auto_resolve_off_keeps_the_incident_open(db: Database) -> None:
    routes = RouteTable(default=Route(id="default", auto_resolve=False))
    opened = await ingest(db, load_sample("05_firing_from_prometheus.json"), routes)
    resolved = load_sample("05_firing_from_prometheus.json")
    resolved["alerts"][0].update(status="resolved", endsAt="2026-11-26T19:06:30Z")
    await ingest(db, resolved, routes)
    row = await incident(db, opened.incident_ids[0])
    assert row["status"] == "triggered" and row["firing_alert_count"] == 0


async def test_timeline_records_each_change_once(db: Database) -> None:
    opened = await ingest(db, load_sample("02_firing_group_3alerts_curl_added.json"))
    await ingest(db, load_sample("03_firing_group_mixed_one_resolved.json"))
    await ingest(db, load_sample("03_firing_group_mixed_one_resolved.json"))
    await ingest(db, load_sample("04_resolved_group_2alerts.json"))
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT kind, actor, source FROM incident_events WHERE incident_id = $1 ORDER BY id", opened.incident_ids[0]
        )
    kinds = [r["kind"] for r in rows]
    assert kinds == ["opened"] + ["alert_firing"] * 3 + ["alert_resolved"] * 3 + ["resolved"]
    assert {(r["actor"], r["source"]) for r in rows} == {("alertmanager", "alertmanager")}


async def test_hundred_concurrent_posts_of_one_new_group(db: Database) -> None:
    body = load_sample("02_firing_group_3alerts_curl_added.json")
    results = await asyncio.gather(*(ingest(db, copy.deepcopy(body)) for _ in range(100)))
    assert {tuple(r.incident_ids) for r in results} == {tuple(results[0].incident_ids)}
    incidents, alerts, events = await counts(db)
    assert (incidents, alerts) == (1, 3)
    assert events == 4  # opened + three alerts, never repeated
