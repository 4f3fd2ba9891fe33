"""Queries on maintenance windows made through the API or chat, on incidents in a window, and on the
Alertmanager silences of config windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from store.domain.config_oncall import API_PREFIX as PREFIX
from store.domain.maintenance import Window
from store.domain.matchers import parse_matchers
from store.models import Incident


def window_of(row: Any) -> Window:
    """A stored window as the domain's Window."""
    matchers = tuple(m for text in row["matchers"] for m in parse_matchers(text))
    return Window(row["id"], matchers, row["starts_at"], row["ends_at"], silence=row["silence"], source="api",
                  created_by=row["created_by"], comment=row["comment"], silence_ids=tuple(row["silence_ids"]))


async def active(conn: asyncpg.Connection, now: datetime) -> list[Window]:
    """The stored windows in force at `now` (the ingest's one lookup per transaction)."""
    rows = await conn.fetch(
        "SELECT * FROM maintenance_windows WHERE ends_at > $1 AND starts_at <= $1 ORDER BY starts_at, id", now
    )
    return [window_of(r) for r in rows]


async def not_over(conn: asyncpg.Connection, now: datetime, ended_since: datetime) -> list[Window]:
    """The stored windows in force or to come, and those that ended after `ended_since`."""
    rows = await conn.fetch(
        "SELECT * FROM maintenance_windows WHERE ends_at > $1 ORDER BY starts_at, id", min(now, ended_since)
    )
    return [window_of(r) for r in rows]


async def get(conn: asyncpg.Connection, window_id: str, *, lock: bool = False) -> Window | None:
    """One stored window, or None."""
    clause = " FOR UPDATE" if lock else ""
    query = f"SELECT * FROM maintenance_windows WHERE id = $1{clause}"  # noqa: S608 - a constant suffix, no input
    row = await conn.fetchrow(query, window_id)
    return window_of(row) if row else None


async def insert(
    conn: asyncpg.Connection, matchers: list[str], starts_at: datetime, ends_at: datetime, *, silence: bool,
    silence_ids: list[str], comment: str, created_by: str, now: datetime,
) -> Window:
    """Store a new window (its id mw-N)."""
    row = await conn.fetchrow(
        """
        INSERT INTO maintenance_windows (id, matchers, starts_at, ends_at, silence, silence_ids, comment, created_by,
                                         created_at)
        VALUES ($1 || nextval('maintenance_window_numbers'), $2, $3, $4, $5, $6, $7, $8, $9)
        RETURNING *
        """,
        PREFIX,
        matchers,
        starts_at,
        ends_at,
        silence,
        silence_ids,
        comment,
        created_by,
        now,
    )
    return window_of(row)


async def end(conn: asyncpg.Connection, window_id: str, by: str, now: datetime) -> Window:
    """End a window now (one still to come is ended before it starts)."""
    row = await conn.fetchrow(
        """
        UPDATE maintenance_windows
        SET ends_at = GREATEST($3, starts_at + interval '1 microsecond'), ended_by = $2
        WHERE id = $1
        RETURNING *
        """,
        window_id,
        by,
        now,
    )
    return window_of(row)


async def in_maintenance(conn: asyncpg.Connection) -> list[tuple[int, str]]:
    """(incident, window) of every open incident in a window."""
    rows = await conn.fetch(
        "SELECT id, maintenance_id FROM incidents WHERE maintenance_id IS NOT NULL AND status <> 'resolved' "
        "ORDER BY id"
    )
    return [(r["id"], r["maintenance_id"]) for r in rows]


async def lock_in_window(conn: asyncpg.Connection, incident_id: int, window_id: str) -> Incident | None:
    """The incident, locked, if it is still open in this window (skipped when another transaction holds it)."""
    row = await conn.fetchrow(
        "SELECT * FROM incidents WHERE id = $1 AND maintenance_id = $2 AND status <> 'resolved' "
        "FOR NO KEY UPDATE SKIP LOCKED",
        incident_id,
        window_id,
    )
    return Incident.from_record(row) if row else None


async def claim_silence(conn: asyncpg.Connection, window_id: str, starts_at: datetime, ends_at: datetime,
                        now: datetime, lease: float) -> bool:
    """Claim making the silence of one occurrence of a config window: True for the one replica that makes it
    (again, when an earlier attempt did not finish within its lease)."""
    status = await conn.execute(
        """
        INSERT INTO maintenance_silences (window_id, starts_at, ends_at, claimed_until)
        VALUES ($1, $2, $3, $4::timestamptz + make_interval(secs => $5))
        ON CONFLICT (window_id, starts_at) DO UPDATE SET claimed_until = EXCLUDED.claimed_until
        WHERE maintenance_silences.silence_id IS NULL AND maintenance_silences.claimed_until <= $4::timestamptz
        """,
        window_id,
        starts_at,
        ends_at,
        now,
        lease,
    )
    return status.endswith(" 1")


async def silence_made(conn: asyncpg.Connection, window_id: str, starts_at: datetime, silence_id: str | None) -> None:
    """Record the silence made (None: it failed; the claim is given back for the next run)."""
    if silence_id is None:
        await conn.execute("UPDATE maintenance_silences SET claimed_until = '-infinity' "
                           "WHERE window_id = $1 AND starts_at = $2", window_id, starts_at)
        return
    await conn.execute("UPDATE maintenance_silences SET silence_id = $3 WHERE window_id = $1 AND starts_at = $2",
                       window_id, starts_at, silence_id)
