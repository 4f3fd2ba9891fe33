"""Queries on the timeline (incident_events) and the after-commit notification."""

from __future__ import annotations

import json

import asyncpg

from store.models import Event, NewEvent

CHANNEL = "tocsin_events"


def _payload(incident_ids: list[int], kinds: list[str]) -> str:
    return json.dumps({"incidents": sorted(set(incident_ids)), "kinds": sorted(set(kinds))})


async def insert_and_notify(conn: asyncpg.Connection, events: list[NewEvent]) -> list[Event]:
    """Write timeline entries and queue the after-commit NOTIFY about them, in one round trip."""
    if not events:
        return []
    payload = _payload([e.incident_id for e in events], [e.kind for e in events])
    rows = await conn.fetch(
        """
        WITH stored AS (
            INSERT INTO incident_events (incident_id, kind, actor, source, message, data)
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])
            RETURNING *
        ), notified AS (SELECT pg_notify($7, $8))
        SELECT stored.* FROM stored, notified ORDER BY stored.id
        """,
        [e.incident_id for e in events],
        [e.kind for e in events],
        [e.actor for e in events],
        [e.source for e in events],
        [e.message for e in events],
        [e.data for e in events],
        CHANNEL,
        payload,
    )
    return [Event.from_record(r) for r in rows]


async def notify(conn: asyncpg.Connection, incident_ids: list[int], kinds: list[str]) -> None:
    """Queue a NOTIFY that PostgreSQL sends only if the transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, _payload(incident_ids, kinds))


async def list_for_incident(conn: asyncpg.Connection, incident_id: int, limit: int = 1000) -> list[Event]:
    """The incident's timeline, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM incident_events WHERE incident_id = $1 ORDER BY id LIMIT $2", incident_id, limit
    )
    return [Event.from_record(r) for r in rows]


async def latest_for_incident(conn: asyncpg.Connection, incident_id: int, limit: int) -> list[Event]:
    """The incident's latest timeline entries, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM (SELECT * FROM incident_events WHERE incident_id = $1 ORDER BY id DESC LIMIT $2) e ORDER BY id",
        incident_id,
        limit,
    )
    return [Event.from_record(r) for r in rows]


async def between(conn: asyncpg.Connection, incident_id: int, first: int, last: int, kinds: list[str]) -> list[Event]:
    """The incident's timeline entries of these kinds from id `first` to `last`, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM incident_events WHERE incident_id = $1 AND id BETWEEN $2 AND $3 AND kind = ANY($4::text[]) "
        "ORDER BY id",
        incident_id,
        first,
        last,
        kinds,
    )
    return [Event.from_record(r) for r in rows]
