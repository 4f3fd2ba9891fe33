"""A guard, not a timing: how many alert rows one webhook reads does not grow with its incident's size.

PostgreSQL counts the rows each transaction reads from a table (pg_stat_xact_user_tables); the ingest
transaction is run inside one we hold open, so its own reads are counted exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from store.db import Database
from store.domain.batching import plan_groups
from store.domain.routing import RouteTable
from store.ingest import ingest_batch
from store.ingest_tick import IngestResult, Tick
from tests.support.webhook_load import group_body
from webhook.alertmanager import parse_webhook

T0 = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)
READS = """
    SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables WHERE relname = 'alerts'
"""


async def rows_read(db: Database, webhook: dict[str, Any]) -> int:
    """Alert rows the ingest of `webhook` reads, counted by PostgreSQL for its transaction."""
    batch = parse_webhook(webhook)
    async with db.transaction() as conn:
        before = await conn.fetchval(READS)
        await Tick(conn, plan_groups([batch], RouteTable()), T0, [IngestResult()]).run()
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
