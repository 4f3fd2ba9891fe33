"""A guard, not a timing: how many alert rows one webhook reads does not grow with its incident's size.

PostgreSQL counts the rows each transaction reads from a table (pg_stat_xact_user_tables); the ingest
transaction is run inside one we hold open, so its own reads are counted exactly. It runs on the webhooks'
own connections (their settings included), as when serving.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from store import maintenance
from store.db import Database
from store.domain.batching import plan_groups
from store.domain.config_schema import parse_config
from store.domain.routing import RouteTable
from store.ingest import ingest_batch, ingest_many
from store.ingest_tick import IngestResult, Tick
from tests.support import postgres as servers
from tests.support.webhook_load import group_body
from web.app import open_ingest_pool
from web.settings import load_settings
from webhook.alertmanager import parse_webhook

T0 = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)
SCANS = """
    SELECT relname, coalesce(seq_scan, 0) AS seq_scan FROM pg_stat_xact_user_tables
    WHERE relname IN ('alerts', 'incidents') ORDER BY relname
"""
WRITES = """
    SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables
    WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname
"""
READS = """
    SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables WHERE relname = 'alerts'
"""


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The webhooks' pool on this test's database."""
    pool = await open_ingest_pool(database_url, load_settings({"DATABASE_URL": database_url}))
    yield pool
    await pool.close()


async def rows_read(db: Database, webhook: dict[str, Any], routes: RouteTable | None = None) -> int:
    """Alert rows the ingest of `webhook` reads, counted by PostgreSQL for its transaction."""
    batch = parse_webhook(webhook)
    routes = routes or RouteTable()
    async with db.transaction() as conn:
        before = await conn.fetchval(READS)
        await Tick(conn, plan_groups([batch], routes), T0, [IngestResult()], routes).run()
        return await conn.fetchval(READS) - before


@pytest.mark.parametrize("size", [20, 2000])
async def test_one_more_alert_reads_the_same_few_rows_whatever_the_incident_size(db: Database, size: int) -> None:
    await ingest_batch(db, parse_webhook(group_body("Big", range(size))), RouteTable(), lambda: T0)
    new = await rows_read(db, group_body("Big", range(size, size + 1)))
    repeat = await rows_read(db, group_body("Big", range(size, size + 1)))
    resolve_first = await rows_read(db, group_body("Big", range(0, 1), status="resolved"))  # the picked alert
    assert new <= 4, new
    assert repeat <= 4, repeat
    assert resolve_first <= 8, resolve_first  # looks up the next oldest firing alert for each pick
    async with db.connection() as conn:
        incident = await conn.fetchrow("SELECT alert_count, firing_alert_count FROM incidents")
    assert dict(incident) == {"alert_count": size + 1, "firing_alert_count": size}


async def steps_read(db: Database, size: int, routes: RouteTable) -> list[int]:
    """Alert rows read by: one more alert, its repeat, the last firing alert resolving, a reopening."""
    await ingest_batch(db, parse_webhook(group_body("Big", range(size))), routes, lambda: T0)
    reads = [await rows_read(db, group_body("Big", range(size, size + 1)), routes) for _ in range(2)]
    await ingest_batch(db, parse_webhook(group_body("Big", range(0, size), status="resolved")), routes, lambda: T0)
    reads.append(await rows_read(db, group_body("Big", range(size, size + 1), status="resolved"), routes))
    reads.append(await rows_read(db, group_body("Big", range(size + 1, size + 2)), routes))
    return reads


@pytest.mark.parametrize("size", [20, 2000])
async def test_maintenance_windows_and_flap_counting_read_no_more_alert_rows(
    db: Database, postgres: servers.TestPostgres, size: int
) -> None:
    """An incident in a window (the config's, and one made through the API) whose group's changes are counted
    reads, step by step, exactly the alert rows the same incident without them reads (in a database of its own)."""
    quiet = parse_config({"maintenance": [
        {"id": "cfg", "match": ['group="Big"'], "from": "2026-11-26T00:00:00Z", "until": "2026-11-27T00:00:00Z"}],
        "routes": [{"id": "all", "flap_threshold": 1, "flap_window": "1h"}]}).routes
    await maintenance.create(db, ['group="Big"', 'instance=~"node-.*"'], T0, T0 + timedelta(hours=1), "ops", now=T0)
    with_them = await steps_read(db, size, quiet)
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT status, flapping, maintenance_id FROM incidents")
    assert tuple(row) == ("triggered", True, "cfg")
    url = await postgres.fresh_database()
    try:
        plain = await open_ingest_pool(url, load_settings({"DATABASE_URL": url}))
        try:
            without = await steps_read(plain, size, parse_config({"routes": [{"flap_threshold": 0}]}).routes)
        finally:
            await plain.close()
    finally:
        await postgres.drop(url)
    assert with_them == without
    new, repeat, resolve_last, _reopen = with_them
    assert new <= 4 and repeat <= 4 and resolve_last <= 8, with_them


async def test_the_webhooks_pool_reads_by_index_before_autovacuum_first_analyzes_the_tables(database_url: str) -> None:
    """A new database's tables look tiny to the planner until autovacuum analyzes them, so cached plans
    scanned incidents and alerts whole on every webhook (a cost growing with each one); the webhooks' own
    pool must look them up by index from the first webhook."""
    pool = await open_ingest_pool(database_url, load_settings({"DATABASE_URL": database_url}))
    try:
        routes = RouteTable()
        for n in range(0, 300, 10):
            await ingest_many(pool, [parse_webhook(group_body(f"G{g}", 3)) for g in range(n, n + 10)], routes)
        async with pool.transaction() as conn:
            await Tick(conn, plan_groups([parse_webhook(group_body(f"G{g}", 4)) for g in range(295, 305)], routes),
                       datetime.now(UTC), [IngestResult() for _ in range(10)], routes).run()
            scans = await conn.fetch(SCANS)
        assert {r["relname"]: r["seq_scan"] for r in scans} == {"alerts": 0, "incidents": 0}
    finally:
        await pool.close()


async def resend_writes(db: Database, size: int, now: datetime) -> dict[str, tuple[int, int]]:
    """Rows inserted and updated per table by a resend of the whole group "Big" at `now`."""
    async with db.transaction() as conn:
        before = {r["relname"]: (r["n_tup_ins"], r["n_tup_upd"]) for r in await conn.fetch(WRITES)}
        await Tick(conn, plan_groups([parse_webhook(group_body("Big", range(size)))], RouteTable()), now,
                   [IngestResult()], RouteTable()).run()
        after = {r["relname"]: (r["n_tup_ins"], r["n_tup_upd"]) for r in await conn.fetch(WRITES)}
    written = {name: (ins - before.get(name, (0, 0))[0], upd - before.get(name, (0, 0))[1])
               for name, (ins, upd) in after.items()}
    return {name: counts for name, counts in written.items() if counts != (0, 0)}


async def test_a_resent_group_writes_its_receipts_but_no_alert_row(db: Database) -> None:
    """Alertmanager resends every group each group_interval: past the receipt interval, each alert's receipt is
    counted (alert_receipts) without rewriting the alert row or any of its indexes."""
    await ingest_batch(db, parse_webhook(group_body("Big", range(300))), RouteTable(), lambda: T0)
    first, second = T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)
    assert await resend_writes(db, 300, first) == {"alert_receipts": (300, 0)}
    assert await resend_writes(db, 300, first + timedelta(seconds=1)) == {}  # within the receipt interval
    assert await resend_writes(db, 300, second) == {"alert_receipts": (0, 300)}
    async with db.connection() as conn:
        seen = await conn.fetch("SELECT DISTINCT receive_count, last_received_at FROM alerts_seen")
    assert [tuple(r) for r in seen] == [(3, second)]


def own_summaries(body: dict[str, Any]) -> dict[str, Any]:
    """The body with a summary of its own on each alert (the incident's summary then counts the others)."""
    for alert in body["alerts"]:
        alert["annotations"] = {"summary": f"{alert['labels']['instance']} is down"}
    return body


async def test_a_new_alert_rewrites_its_incident_in_place(db: Database) -> None:
    """Each change of an incident's alerts rewrites its row; with no indexed column changed (its summary's count
    and updated_at are not indexed as such: migration 0016) that is a heap-only update, which writes no index.
    A new incident is opened with the fields its alerts give it, so their first write is one too."""
    updates = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'incidents'"
    for n in [0, *range(20, 23)]:  # opened (with the fields its alerts give it), then an alert more each time
        size = 20 if n == 0 else 1
        batch = parse_webhook(own_summaries(group_body("Big", range(n, n + size))))
        async with db.transaction() as conn:
            before = await conn.fetchrow(updates)
            await Tick(conn, plan_groups([batch], RouteTable()), T0 + timedelta(seconds=n), [IngestResult()],
                       RouteTable()).run()
            after = await conn.fetchrow(updates)
        assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
    async with db.connection() as conn:
        incident = await conn.fetchrow("SELECT summary, search_text, alert_count FROM incidents")
    assert tuple(incident) == ("node-0 is down (and 22 more)", "AlwaysFiring (Big) node-0 is down", 23)
