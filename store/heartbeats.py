"""Heartbeats: pings recorded, missing heartbeats turned into alerts (and back), mutes; store/domain/heartbeats.py
has the rules.

A missing heartbeat's alert goes through the ingest in the same transaction that marks the heartbeat down
(claimed with FOR UPDATE SKIP LOCKED), so its incident opens once across replicas, through its route and
escalation like any alert's; the ping that ends the silence resolves it in the ping's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from store.db import Database
from store.domain.config_schema import Config
from store.domain.heartbeats import Heartbeat, HeartbeatState, batch_of, missing_alert, missing_since, status
from store.errors import Invalid, NotFound
from store.ingest import ingest_in, retried
from store.sql import heartbeats as sql

MAX_MUTE = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class HeartbeatView:
    """A declared heartbeat and its state, as listed."""

    heartbeat: Heartbeat
    state: HeartbeatState | None
    status: str


def known(config: Config, heartbeat_id: str) -> Heartbeat:
    """The declared heartbeat, or NotFound."""
    heartbeat = config.heartbeat(heartbeat_id)
    if heartbeat is None:
        raise NotFound(f"heartbeat {heartbeat_id[:80]!r} is not declared in the config")
    return heartbeat


async def ping(
    db: Database, config: Config, heartbeat_id: str, clock: Callable[[], datetime] | None = None
) -> HeartbeatView:
    """Record a ping now; a missing-heartbeat alert that was firing resolves (and with it, as usual, its incident)."""
    heartbeat = known(config, heartbeat_id)

    async def work(conn: asyncpg.Connection, now: datetime) -> HeartbeatView:
        before, after = await sql.pinged(conn, heartbeat.id, now)
        if before.down_since is not None and before.last_seen_at is not None:
            alert = missing_alert(heartbeat, before.last_seen_at, before.down_since, resolved_at=now)
            await ingest_in(conn, [batch_of(heartbeat, alert)], config.routes, now)
        return HeartbeatView(heartbeat, after, status(after, now))

    return await retried(db, work, clock)


async def check_due(db: Database, config: Config, now: datetime) -> list[str]:
    """Fire the missing alert of every heartbeat silent past its timeout, once; the heartbeats that went down."""
    declared = {h.id: h for h in config.heartbeats}
    if not declared:
        return []

    async def work(conn: asyncpg.Connection, at: datetime) -> list[str]:
        overdue = await sql.claim_overdue(conn, {h.id: h.timeout for h in declared.values()}, at)
        if not overdue:
            return []
        since = {s.id: missing_since(declared[s.id], s) or at for s in overdue}
        await sql.mark_down(conn, since, at)
        batches = [batch_of(declared[s.id], missing_alert(declared[s.id], s.last_seen_at or at, since[s.id]))
                   for s in overdue]
        await ingest_in(conn, batches, config.routes, at)
        return [s.id for s in overdue]

    return await retried(db, work, lambda: now)


async def mute(db: Database, config: Config, heartbeat_id: str, until: datetime | None, actor: str,
               now: datetime | None = None) -> HeartbeatView:
    """Mute until `until` (at most 30 days ahead), or unmute (None): a muted heartbeat opens no incident."""
    heartbeat = known(config, heartbeat_id)
    when = now or datetime.now(UTC)
    if until is not None and not when < until <= when + MAX_MUTE:
        raise Invalid("duration", "expected a mute from 1m to 30d")
    async with db.transaction() as conn:
        state = await sql.mute(conn, heartbeat.id, until, actor if until else None, when)
    return HeartbeatView(heartbeat, state, status(state, when))


async def views(db: Database, config: Config, now: datetime | None = None) -> list[HeartbeatView]:
    """Every declared heartbeat with its state, in the config's order."""
    when = now or datetime.now(UTC)
    async with db.connection() as conn:
        found = await sql.states(conn)
    return [HeartbeatView(h, found.get(h.id), status(found.get(h.id), when)) for h in config.heartbeats]
