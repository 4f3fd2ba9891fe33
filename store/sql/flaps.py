"""Queries on groups' recent state changes (group_flaps), for flap detection."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from store.models import Incident


async def lock(conn: asyncpg.Connection, group_key: str) -> tuple[list[datetime], datetime | None]:
    """The group's kept changes and flapping start, locked until the transaction ends (none yet: empty)."""
    row = await conn.fetchrow("SELECT changes, flapping_since FROM group_flaps WHERE group_key = $1 FOR UPDATE",
                              group_key)
    return (list(row["changes"]), row["flapping_since"]) if row else ([], None)


async def store(conn: asyncpg.Connection, group_key: str, route_id: str, changes: list[datetime],
                flapping_since: datetime | None, now: datetime) -> None:
    """Keep the group's changes and flapping start."""
    await conn.execute(
        """
        INSERT INTO group_flaps (group_key, route_id, changes, flapping_since, updated_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (group_key) DO UPDATE
        SET route_id = EXCLUDED.route_id, changes = EXCLUDED.changes, flapping_since = EXCLUDED.flapping_since,
            updated_at = EXCLUDED.updated_at
        """,
        group_key,
        route_id,
        changes,
        flapping_since,
        now,
    )


async def flapping_groups(conn: asyncpg.Connection) -> list[tuple[str, str, datetime | None]]:
    """(group, route, last change) of every group flapping now."""
    rows = await conn.fetch(
        "SELECT group_key, route_id, changes[cardinality(changes)] AS last FROM group_flaps "
        "WHERE flapping_since IS NOT NULL ORDER BY group_key"
    )
    return [(r["group_key"], r["route_id"], r["last"]) for r in rows]


async def lock_flapping(conn: asyncpg.Connection, group_key: str) -> datetime | None:
    """The last change of a group still flapping, locked (skipped when another transaction holds it)."""
    row = await conn.fetchrow(
        "SELECT changes[cardinality(changes)] AS last FROM group_flaps WHERE group_key = $1 "
        "AND flapping_since IS NOT NULL FOR UPDATE SKIP LOCKED",
        group_key,
    )
    return row["last"] if row else None


async def settle(conn: asyncpg.Connection, group_key: str, now: datetime) -> None:
    """The group stopped flapping."""
    await conn.execute("UPDATE group_flaps SET flapping_since = NULL, updated_at = $2 WHERE group_key = $1",
                       group_key, now)


async def lock_open_incident(conn: asyncpg.Connection, group_key: str) -> Incident | None:
    """The group's open incident, locked (None when there is none, or another transaction holds it)."""
    row = await conn.fetchrow(
        "SELECT * FROM incidents WHERE group_key = $1 AND status <> 'resolved' FOR NO KEY UPDATE SKIP LOCKED",
        group_key,
    )
    return Incident.from_record(row) if row else None
