"""Queries on the delivery outbox. Times come from PostgreSQL's clock, the one every replica shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from store.models import Delivery

# Serialises claims (not sends) across workers and replicas, so that "one message per stream at a time"
# holds even when two workers claim in the same instant.
CLAIM_LOCK = 0x70C5_1D_0001

STREAM = "o.incident_id = d.incident_id AND o.channel = d.channel AND o.target = d.target"


@dataclass(frozen=True, slots=True)
class Stream:
    """An incident's messages to one channel target, and its live open message if any."""

    incident_id: int
    channel: str
    target: str
    open_id: int | None = None
    open_state: str | None = None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A message to queue (or a waiting one to bump) for the events first_event_id..event_id."""

    incident_id: int
    channel: str
    target: str
    first_event_id: int
    event_id: int
    event_kind: str


async def channels_and_opens(
    conn: asyncpg.Connection, incident_ids: list[int]
) -> dict[int, tuple[dict[str, Any], dict[tuple[str, str], Stream], bool]]:
    """Each incident's channels, the live (not failed) open message of each of its streams, and whether it is
    quiet (in maintenance or flapping)."""
    rows = await conn.fetch(
        """
        SELECT i.id, i.channels, (i.maintenance_id IS NOT NULL OR i.flapping) AS quiet,
               COALESCE((SELECT jsonb_agg(jsonb_build_array(d.channel, d.target, d.id, d.state))
                         FROM deliveries d
                         WHERE d.incident_id = i.id AND d.kind = 'open' AND d.state <> 'failed'), '[]') AS opens
        FROM incidents i WHERE i.id = ANY($1::bigint[])
        """,
        incident_ids,
    )
    result = {}
    for r in rows:
        opens = {(c, t): Stream(r["id"], c, t, i, s) for c, t, i, s in r["opens"]}
        result[r["id"]] = (r["channels"], opens, r["quiet"])
    return result


def _columns(items: list[NewDelivery]) -> list[list[Any]]:
    return [
        [d.incident_id for d in items],
        [d.channel for d in items],
        [d.target for d in items],
        [d.first_event_id for d in items],
        [d.event_id for d in items],
        [d.event_kind for d in items],
    ]


UNNEST = "unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])"
UNNEST_COLUMNS = "k(incident_id, channel, target, first_event_id, event_id, event_kind)"


async def insert_opens(conn: asyncpg.Connection, items: list[NewDelivery]) -> set[tuple[int, str, str]]:
    """Queue open messages; returns the streams queued (a stream with a live open is left alone)."""
    if not items:
        return set()
    rows = await conn.fetch(
        f"""
        INSERT INTO deliveries (incident_id, channel, target, kind, first_event_id, event_id, event_kind)
        SELECT k.incident_id, k.channel, k.target, 'open', k.first_event_id, k.event_id, k.event_kind
        FROM {UNNEST} AS {UNNEST_COLUMNS}
        ON CONFLICT (incident_id, channel, target) WHERE kind = 'open' AND state <> 'failed' DO NOTHING
        RETURNING incident_id, channel, target
        """,  # noqa: S608 - only the module's constants UNNEST and UNNEST_COLUMNS; values are parameters
        *_columns(items),
    )
    return {(r["incident_id"], r["channel"], r["target"]) for r in rows}


async def bump_pending(conn: asyncpg.Connection, ids: list[int], items: list[NewDelivery]) -> set[int]:
    """Make waiting (unclaimed) messages reflect later events; returns the ids still waiting and bumped."""
    if not ids:
        return set()
    rows = await conn.fetch(
        """
        UPDATE deliveries d SET event_id = k.event_id, event_kind = k.event_kind, updated_at = now()
        FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS k(id, event_id, event_kind)
        WHERE d.id = k.id AND d.state = 'pending'
        RETURNING d.id
        """,
        ids,
        [d.event_id for d in items],
        [d.event_kind for d in items],
    )
    return {r["id"] for r in rows}


async def upsert_updates(conn: asyncpg.Connection, items: list[NewDelivery]) -> None:
    """Queue updates; a stream's waiting update is bumped to the latest event instead (coalescing)."""
    if not items:
        return
    await conn.execute(
        f"""
        INSERT INTO deliveries (incident_id, channel, target, kind, first_event_id, event_id, event_kind)
        SELECT k.incident_id, k.channel, k.target, 'update', k.first_event_id, k.event_id, k.event_kind
        FROM {UNNEST} AS {UNNEST_COLUMNS}
        ON CONFLICT (incident_id, channel, target) WHERE kind = 'update' AND state = 'pending'
        DO UPDATE SET event_id = EXCLUDED.event_id, event_kind = EXCLUDED.event_kind, updated_at = now()
        """,  # noqa: S608 - only the module's constants UNNEST and UNNEST_COLUMNS; values are parameters
        *_columns(items),
    )


async def insert_announcements(
    conn: asyncpg.Connection, announcement_id: int, event_kind: str, targets: list[tuple[str, str]]
) -> None:
    """Queue an announcement's messages, one per (channel, target); queuing it again changes nothing."""
    if not targets:
        return
    await conn.execute(
        """
        INSERT INTO deliveries (announcement_id, channel, target, kind, event_kind)
        SELECT $1, k.channel, k.target, 'announce', $2
        FROM unnest($3::text[], $4::text[]) AS k(channel, target)
        ON CONFLICT (announcement_id, channel, target) WHERE kind = 'announce' DO NOTHING
        """,
        announcement_id,
        event_kind,
        [channel for channel, _ in targets],
        [target for _, target in targets],
    )


async def announcement_text(conn: asyncpg.Connection, announcement_id: int) -> str | None:
    """The text of a handoff announcement."""
    return await conn.fetchval("SELECT message FROM handoff_announcements WHERE id = $1", announcement_id)


async def lock_claims(conn: asyncpg.Connection) -> None:
    """Take the claim lock until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", CLAIM_LOCK)


async def claim(conn: asyncpg.Connection, channels: list[str], limit: int, lease: float) -> list[Delivery]:
    """Claim due messages, at most one per stream, whose stream has nothing else in flight.

    Due: pending and past next_attempt_at, or sending under an expired lease (its worker died). An update
    waits for its stream's open message to be sent, since it edits or replies to that message.
    """
    rows = await conn.fetch(
        f"""
        WITH candidates AS (
            SELECT d.id, d.incident_id, d.channel, d.target FROM deliveries d
            WHERE d.state IN ('pending', 'sending') AND d.channel = ANY($1::text[])
              AND ((d.state = 'pending' AND d.next_attempt_at <= now())
                   OR (d.state = 'sending' AND d.claimed_until <= now()))
              AND (d.kind <> 'update' OR EXISTS (
                    SELECT 1 FROM deliveries o WHERE {STREAM} AND o.kind = 'open' AND o.state = 'sent'))
              AND NOT EXISTS (
                    SELECT 1 FROM deliveries o WHERE {STREAM} AND o.id <> d.id
                      AND o.state = 'sending' AND o.claimed_until > now())
            ORDER BY d.next_attempt_at, d.id
            LIMIT $2
            FOR UPDATE OF d SKIP LOCKED
        ), chosen AS (
            SELECT DISTINCT ON (incident_id, channel, target) id
            FROM candidates ORDER BY incident_id, channel, target, id
        )
        UPDATE deliveries d
        SET state = 'sending', attempts = d.attempts + 1, claimed_until = now() + make_interval(secs => $3),
            claim_token = gen_random_uuid(), updated_at = now()
        FROM chosen WHERE d.id = chosen.id
        RETURNING d.id, d.incident_id, d.channel, d.target, d.kind, d.state, d.first_event_id, d.event_id,
                  d.event_kind, d.attempts, d.next_attempt_at, d.claimed_until, d.claim_token, d.last_error,
                  d.created_at, d.updated_at, d.sent_at, d.announcement_id,
                  CASE WHEN d.kind <> 'update' THEN d.external_ref ELSE (
                      SELECT o.external_ref FROM deliveries o
                      WHERE {STREAM} AND o.kind = 'open' AND o.state = 'sent' ORDER BY o.id DESC LIMIT 1)
                  END AS external_ref
        """,  # noqa: S608 - only the module's constant SQL fragments; values are parameters
        channels,
        limit,
        lease,
    )
    return sorted((Delivery.from_record(r) for r in rows), key=lambda d: d.id)


async def mark_sent(conn: asyncpg.Connection, delivery_id: int, token: Any, external_ref: str | None) -> bool:
    """Record a successful send; False when the claim was lost (its lease expired and another took it)."""
    status = await conn.execute(
        """
        UPDATE deliveries
        SET state = 'sent', sent_at = now(), updated_at = now(), external_ref = $3, claimed_until = NULL,
            last_error = NULL
        WHERE id = $1 AND claim_token = $2 AND state = 'sending'
        """,
        delivery_id,
        token,
        external_ref,
    )
    return status.endswith(" 1")


async def release(conn: asyncpg.Connection, ids: list[int], tokens: list[Any]) -> int:
    """Hand claimed messages back to the queue, due now (their worker is stopping); returns how many."""
    status = await conn.execute(
        """
        UPDATE deliveries d
        SET state = 'pending', next_attempt_at = now(), claimed_until = NULL, claim_token = NULL, updated_at = now()
        FROM unnest($1::bigint[], $2::uuid[]) AS k(id, token)
        WHERE d.id = k.id AND d.claim_token = k.token AND d.state = 'sending'
        """,
        ids,
        tokens,
    )
    return int(status.split()[-1])


async def lock_claimed(conn: asyncpg.Connection, delivery_id: int, token: Any) -> dict[str, Any] | None:
    """The claimed row, locked, with whether it is past the give-up time; None when the claim was lost."""
    row = await conn.fetchrow(
        """
        SELECT id, incident_id, channel, target, kind, first_event_id, attempts, created_at, now() AS now
        FROM deliveries WHERE id = $1 AND claim_token = $2 AND state = 'sending' FOR UPDATE
        """,
        delivery_id,
        token,
    )
    return dict(row) if row else None


async def lock_pending_update(conn: asyncpg.Connection, incident_id: int, channel: str, target: str) -> int | None:
    """The stream's waiting update, locked, if any."""
    return await conn.fetchval(
        """
        SELECT id FROM deliveries
        WHERE incident_id = $1 AND channel = $2 AND target = $3 AND kind = 'update' AND state = 'pending'
        FOR UPDATE
        """,
        incident_id,
        channel,
        target,
    )


async def reschedule(conn: asyncpg.Connection, delivery_id: int, delay: float, error: str) -> None:
    """Put a claimed message back in the queue for a later attempt."""
    await conn.execute(
        """
        UPDATE deliveries
        SET state = 'pending', next_attempt_at = now() + make_interval(secs => $2), claimed_until = NULL,
            claim_token = NULL, last_error = $3, updated_at = now()
        WHERE id = $1
        """,
        delivery_id,
        delay,
        error,
    )


async def merge_into(conn: asyncpg.Connection, failed: dict[str, Any], into_id: int, delay: float, error: str) -> None:
    """A failed update joins the stream's newer waiting one (which shows the later state) and goes away."""
    await conn.execute(
        """
        UPDATE deliveries
        SET first_event_id = LEAST(first_event_id, $2), attempts = GREATEST(attempts, $3),
            created_at = LEAST(created_at, $4),
            next_attempt_at = GREATEST(next_attempt_at, now() + make_interval(secs => $5)),
            last_error = $6, updated_at = now()
        WHERE id = $1
        """,
        into_id,
        failed["first_event_id"],
        failed["attempts"],
        failed["created_at"],
        delay,
        error,
    )
    await conn.execute("DELETE FROM deliveries WHERE id = $1", failed["id"])


async def fail(conn: asyncpg.Connection, delivery_id: int, error: str) -> None:
    """Give a message up."""
    await conn.execute(
        """
        UPDATE deliveries SET state = 'failed', last_error = $2, claimed_until = NULL, updated_at = now()
        WHERE id = $1
        """,
        delivery_id,
        error,
    )


async def fail_overdue(conn: asyncpg.Connection, give_up: float) -> int:
    """Give up unsent messages queued longer than give_up seconds ago, then updates left without an open."""
    status = await conn.execute(
        """
        UPDATE deliveries
        SET state = 'failed', claimed_until = NULL, updated_at = now(),
            last_error = 'not sent within DELIVERY_GIVE_UP' || COALESCE(': ' || last_error, '')
        WHERE state IN ('pending', 'sending') AND created_at <= now() - make_interval(secs => $1)
          AND (state = 'pending' OR claimed_until <= now())
        """,
        give_up,
    )
    orphans = await fail_orphan_updates(conn)
    return int(status.split()[-1]) + orphans


async def fail_orphan_updates(conn: asyncpg.Connection, incident_id: int | None = None) -> int:
    """Fail waiting updates whose stream's open message failed: there is no message to edit or reply to."""
    status = await conn.execute(
        f"""
        UPDATE deliveries d
        SET state = 'failed', updated_at = now(), last_error = 'its open message could not be sent'
        WHERE d.kind = 'update' AND d.state = 'pending' AND ($1::bigint IS NULL OR d.incident_id = $1)
          AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE {STREAM} AND o.kind = 'open' AND o.state <> 'failed')
        """,  # noqa: S608 - only the module's constant SQL fragments; values are parameters
        incident_id,
    )
    return int(status.split()[-1])


async def seconds_until_due(conn: asyncpg.Connection, channels: list[str]) -> float | None:
    """Seconds until the next retry or lease expiry in the future (None when nothing is waiting)."""
    return await conn.fetchval(
        """
        SELECT EXTRACT(EPOCH FROM min(t) - now())::float8 FROM (
            SELECT CASE WHEN state = 'pending' THEN next_attempt_at ELSE claimed_until END AS t
            FROM deliveries WHERE state IN ('pending', 'sending') AND channel = ANY($1::text[])
        ) due WHERE t > now()
        """,
        channels,
    )


async def counts(conn: asyncpg.Connection) -> dict[str, dict[str, int]]:
    """Unsent messages per channel and state (pending, sending, failed)."""
    rows = await conn.fetch(
        "SELECT channel, state, count(*) AS n FROM deliveries WHERE state <> 'sent' GROUP BY channel, state"
    )
    result: dict[str, dict[str, int]] = {}
    for r in rows:
        result.setdefault(r["channel"], {})[r["state"]] = r["n"]
    return result


async def latest_per_target(conn: asyncpg.Connection, incident_ids: list[int]) -> list[Delivery]:
    """The latest message of each stream of these incidents."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT ON (incident_id, channel, target) *
        FROM deliveries WHERE incident_id = ANY($1::bigint[])
        ORDER BY incident_id, channel, target, id DESC
        """,
        incident_ids,
    )
    return [Delivery.from_record(r) for r in rows]


async def failed_per_target(conn: asyncpg.Connection, incident_ids: list[int]) -> dict[tuple[int, str, str], int]:
    """How many messages of each stream failed."""
    rows = await conn.fetch(
        """
        SELECT incident_id, channel, target, count(*) AS n FROM deliveries
        WHERE incident_id = ANY($1::bigint[]) AND state = 'failed'
        GROUP BY incident_id, channel, target
        """,
        incident_ids,
    )
    return {(r["incident_id"], r["channel"], r["target"]): r["n"] for r in rows}
