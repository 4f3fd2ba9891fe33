"""The ingest service: webhooks' batches of alerts become alerts and incidents, several batches per transaction.

The cost of a batch follows the batch, not the incidents it lands in: alert rows are read and locked only
for the batch's own identities, and each incident's derived fields are folded forward from a small
summary of its alerts (store/domain/derived.py). An incident row is written once per transaction, at the
end, only when something it shows changed, and only if it is still the version read (else it is read
again, locked, and the same changes folded into what another writer left). A batch that repeats what is
stored touches alert rows only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg

from store.db import Database
from store.domain.alerts import AlertBatch
from store.domain.batching import plan_groups
from store.domain.routing import RouteTable
from store.ingest_tick import IngestResult, Stale, Tick

log = logging.getLogger(__name__)
# Concurrent writers of one group can race (a unique index, a deadlock or a changed incident says so); the
# whole transaction is idempotent, so it is simply run again.
RETRYABLE = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError, asyncpg.SerializationError, Stale)
MAX_ATTEMPTS = 5
T = TypeVar("T")

__all__ = ["IngestResult", "ingest_batch", "ingest_in", "ingest_many", "retried"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def retried(
    db: Database, work: Callable[[asyncpg.Connection, datetime], Awaitable[T]],
    clock: Callable[[], datetime] | None = None,
) -> T:
    """Run `work(conn, now)` in one transaction, run again as a whole when concurrent writers collide."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        now = (clock or _utc_now)()
        try:
            async with db.transaction(stateless=True) as conn:
                return await work(conn, now)
        except RETRYABLE as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            log.debug("ingest collided with a concurrent writer (%s), retrying", type(exc).__name__)
            await asyncio.sleep(0.005 * attempt)
    raise AssertionError("unreachable")


async def ingest_in(
    conn: asyncpg.Connection, batches: Sequence[AlertBatch], routes: RouteTable, now: datetime
) -> list[IngestResult]:
    """Store several batches within the caller's transaction (as if one after another); one result per batch."""
    results = [IngestResult(skipped=list(b.skipped)) for b in batches]
    await Tick(conn, plan_groups(batches, routes), now, results, routes).run()
    return results


async def ingest_many(
    db: Database,
    batches: Sequence[AlertBatch],
    routes: RouteTable,
    clock: Callable[[], datetime] | None = None,
) -> list[IngestResult]:
    """Store several batches in one transaction (as if one after another); one result per batch."""
    groups = plan_groups(batches, routes)

    async def work(conn: asyncpg.Connection, now: datetime) -> list[IngestResult]:
        results = [IngestResult(skipped=list(b.skipped)) for b in batches]
        await Tick(conn, groups, now, results, routes).run()
        return results

    return await retried(db, work, clock)


async def ingest_batch(
    db: Database, batch: AlertBatch, routes: RouteTable, clock: Callable[[], datetime] | None = None
) -> IngestResult:
    """Store one batch: one transaction, retried as a whole when concurrent writers collide."""
    return (await ingest_many(db, [batch], routes, clock))[0]

