"""Queries on groups' recent state changes (group_flaps), for flap detection."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from store.models import Incident

Kept = tuple[list[datetime], datetime | None]  # a group's latest changes and when it began to flap


async def lock_many(conn: asyncpg.Connection, group_keys: list[str]) -> dict[str, Kept]:
    """These groups' kept changes and flapping start, locked (in key order) until the transaction ends."""
    rows = await conn.fetch(
        "SELECT group_key, changes, flapping_since FROM group_flaps WHERE group_key = ANY($1::text[]) "
        "ORDER BY group_key FOR UPDATE",
        group_keys,
    )
    return {r["group_key"]: (list(r["changes"]), r["flapping_since"]) for r in rows}


async def store_many(
    conn: asyncpg.Connection, rows: list[tuple[str, str, list[datetime], datetime | None]], now: datetime
) -> None:
    """Keep each (group, route, changes, flapping start), in one statement."""
    await conn.execute(
        """
        INSERT INTO group_flaps (group_key, route_id, changes, flapping_since, updated_at)
        SELECT k.group_key, k.route_id, k.changes::timestamptz[], k.flapping_since, $5
        FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
             AS k(group_key, route_id, changes, flapping_since)
        ORDER BY k.group_key
        ON CONFLICT (group_key) DO UPDATE
        SET route_id = EXCLUDED.route_id, changes = EXCLUDED.changes, flapping_since = EXCLUDED.flapping_since,
            updated_at = EXCLUDED.updated_at
        """,
        [key for key, _, _, _ in rows],
        [route for _, route, _, _ in rows],
        ["{" + ",".join(f'"{c.isoformat()}"' for c in changes) + "}" for _, _, changes, _ in rows],  # array literals
        [since for _, _, _, since in rows],
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
