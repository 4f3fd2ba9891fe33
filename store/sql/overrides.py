"""Queries on schedule_overrides: overrides made without the file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class StoredOverride:
    """An override of a schedule made through the API, a chat or the CLI."""

    id: int
    schedule_id: str
    user_id: str
    starts_at: datetime
    ends_at: datetime
    created_by: str
    created_via: str
    created_at: datetime
    deleted_at: datetime | None
    deleted_by: str | None
    deleted_via: str | None

    @classmethod
    def from_record(cls, r: Any) -> StoredOverride:
        """Build from a row of schedule_overrides."""
        return cls(**{name: r[name] for name in cls.__slots__})


async def lock_schedule(conn: asyncpg.Connection, schedule_id: str) -> None:
    """One override change per schedule at a time (the overlap check and the insert are then one step)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('override:' || $1, 0))", schedule_id)


async def overlapping(
    conn: asyncpg.Connection, schedule_id: str, start: datetime, end: datetime
) -> list[StoredOverride]:
    """Live overrides of the schedule that overlap [start, end)."""
    rows = await conn.fetch(
        """
        SELECT * FROM schedule_overrides
        WHERE schedule_id = $1 AND deleted_at IS NULL AND starts_at < $3 AND ends_at > $2
        ORDER BY starts_at, id
        """,
        schedule_id, start, end,
    )
    return [StoredOverride.from_record(r) for r in rows]


async def insert(
    conn: asyncpg.Connection, schedule_id: str, user_id: str, start: datetime, end: datetime, by: str, via: str,
    now: datetime,
) -> StoredOverride:
    """Store an override."""
    row = await conn.fetchrow(
        """
        INSERT INTO schedule_overrides (schedule_id, user_id, starts_at, ends_at, created_by, created_via, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *
        """,
        schedule_id, user_id, start, end, by, via, now,
    )
    return StoredOverride.from_record(row)


async def get(conn: asyncpg.Connection, schedule_id: str, override_id: int) -> StoredOverride | None:
    """One override of the schedule (deleted or not), locked for the change that follows."""
    row = await conn.fetchrow(
        "SELECT * FROM schedule_overrides WHERE schedule_id = $1 AND id = $2 FOR UPDATE", schedule_id, override_id
    )
    return StoredOverride.from_record(row) if row else None


async def delete(conn: asyncpg.Connection, override_id: int, by: str, via: str, now: datetime) -> StoredOverride:
    """Mark an override deleted (kept for the record)."""
    row = await conn.fetchrow(
        """
        UPDATE schedule_overrides SET deleted_at = $2, deleted_by = $3, deleted_via = $4
        WHERE id = $1 RETURNING *
        """,
        override_id, now, by, via,
    )
    return StoredOverride.from_record(row)


async def live_since(conn: asyncpg.Connection, since: datetime) -> list[StoredOverride]:
    """Every live override ending after `since`, in the order they were made (a later one wins where they meet)."""
    rows = await conn.fetch(
        "SELECT * FROM schedule_overrides WHERE deleted_at IS NULL AND ends_at > $1 ORDER BY id", since
    )
    return [StoredOverride.from_record(r) for r in rows]


async def generation(conn: asyncpg.Connection) -> tuple[int, int]:
    """A cheap fingerprint of the table: (rows, deleted rows); it changes whenever an override is added or deleted."""
    row = await conn.fetchrow("SELECT count(*) AS n, count(deleted_at) AS d FROM schedule_overrides")
    return int(row["n"]), int(row["d"])
