"""Queries on heartbeats' state (the heartbeats themselves are declared in the config)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from store.domain.heartbeats import HeartbeatState


def _state(row: Any) -> HeartbeatState:
    return HeartbeatState(row["id"], row["last_seen_at"], row["down_since"], row["muted_until"])


async def pinged(conn: asyncpg.Connection, heartbeat_id: str, now: datetime) -> tuple[HeartbeatState, HeartbeatState]:
    """Record a ping (its missing alert, if firing, is over); the state before it (locked) and after it."""
    was = await conn.fetchrow("SELECT * FROM heartbeats WHERE id = $1 FOR UPDATE", heartbeat_id)
    row = await conn.fetchrow(
        """
        INSERT INTO heartbeats AS h (id, last_seen_at, updated_at) VALUES ($1, $2, $2)
        ON CONFLICT (id) DO UPDATE
        SET last_seen_at = GREATEST(h.last_seen_at, EXCLUDED.last_seen_at), down_since = NULL, updated_at = $2
        RETURNING h.*
        """,
        heartbeat_id,
        now,
    )
    return (_state(was) if was else HeartbeatState(heartbeat_id)), _state(row)


async def claim_overdue(
    conn: asyncpg.Connection, timeouts: dict[str, timedelta], now: datetime
) -> list[HeartbeatState]:
    """Lock the heartbeats whose alert must start now (pinged once, silent past their timeout, not firing, not
    muted); those another transaction holds are skipped."""
    rows = await conn.fetch(
        """
        SELECT h.* FROM heartbeats h JOIN unnest($1::text[], $2::interval[]) AS c(id, timeout) ON c.id = h.id
        WHERE h.down_since IS NULL AND h.last_seen_at + c.timeout <= $3
          AND (h.muted_until IS NULL OR h.muted_until <= $3)
        ORDER BY h.id
        FOR UPDATE OF h SKIP LOCKED
        """,
        list(timeouts),
        list(timeouts.values()),
        now,
    )
    return [_state(r) for r in rows]


async def mark_down(conn: asyncpg.Connection, since: dict[str, datetime], now: datetime) -> None:
    """Their missing alerts started at these instants."""
    await conn.execute(
        """
        UPDATE heartbeats h SET down_since = k.since, updated_at = $3
        FROM unnest($1::text[], $2::timestamptz[]) AS k(id, since) WHERE h.id = k.id
        """,
        list(since),
        list(since.values()),
        now,
    )


async def mute(conn: asyncpg.Connection, heartbeat_id: str, until: datetime | None, by: str | None,
               now: datetime) -> HeartbeatState:
    """Mute until `until` (None: unmute)."""
    row = await conn.fetchrow(
        """
        INSERT INTO heartbeats AS h (id, muted_until, muted_by, updated_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET muted_until = $2, muted_by = $3, updated_at = $4
        RETURNING h.*
        """,
        heartbeat_id,
        until,
        by,
        now,
    )
    return _state(row)


async def states(conn: asyncpg.Connection) -> dict[str, HeartbeatState]:
    """Every heartbeat's state, by id."""
    return {r["id"]: _state(r) for r in await conn.fetch("SELECT * FROM heartbeats ORDER BY id")}
