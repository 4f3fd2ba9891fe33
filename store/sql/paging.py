"""Queries on paging: user pages (notification rules in progress), used one-tap links, the per-number send limit,
and the deliveries an answer from a phone or Pushover refers to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from store.domain.incident import Status


@dataclass(frozen=True, slots=True)
class UserPage:
    """One person's notification rules in progress for one incident, with the incident's status when read."""

    incident_id: int
    user_id: str
    started_at: datetime
    fired_count: int
    next_due_at: datetime | None
    state: str
    incident_status: Status

    @classmethod
    def from_record(cls, r: Any) -> UserPage:
        """Build from a row of user_pages joined with its incident's status."""
        values = {name: r[name] for name in cls.__slots__ if name != "incident_status"}
        return cls(**values, incident_status=Status(r["incident_status"]))


async def start(conn: asyncpg.Connection, incident_id: int, user_id: str, now: datetime) -> None:
    """Page a person from their first rule (again, when a later step or pass pages them anew)."""
    await conn.execute(
        """
        INSERT INTO user_pages (incident_id, user_id, started_at, fired_count, next_due_at, state, updated_at)
        VALUES ($1, $2, $3, 0, $3, 'active', $3)
        ON CONFLICT (incident_id, user_id) DO UPDATE
        SET started_at = EXCLUDED.started_at, fired_count = 0, next_due_at = EXCLUDED.next_due_at,
            state = 'active', updated_at = EXCLUDED.updated_at
        """,
        incident_id,
        user_id,
        now,
    )


async def stop(conn: asyncpg.Connection, incident_id: int, user_id: str | None = None) -> int:
    """Stop the incident's active pages (or one person's); how many were stopped."""
    status = await conn.execute(
        """
        UPDATE user_pages SET state = 'stopped', next_due_at = NULL, updated_at = now()
        WHERE incident_id = $1 AND state = 'active' AND ($2::text IS NULL OR user_id = $2)
        """,
        incident_id,
        user_id,
    )
    return int(status.split()[-1])


async def claim_due(conn: asyncpg.Connection, now: datetime) -> UserPage | None:
    """Lock one due active page and its incident; rows another transaction holds are skipped."""
    row = await conn.fetchrow(
        """
        SELECT p.*, i.status AS incident_status
        FROM user_pages p JOIN incidents i ON i.id = p.incident_id
        WHERE p.state = 'active' AND p.next_due_at <= $1
        ORDER BY p.next_due_at, p.incident_id, p.user_id
        LIMIT 1
        FOR UPDATE OF p, i SKIP LOCKED
        """,
        now,
    )
    return UserPage.from_record(row) if row else None


async def advance(
    conn: asyncpg.Connection, page: UserPage, fired_count: int, next_due_at: datetime | None, now: datetime
) -> None:
    """Store how many rules have fired and when the next is due (None: every rule has fired)."""
    await conn.execute(
        """
        UPDATE user_pages
        SET fired_count = $3, next_due_at = $4, state = CASE WHEN $4::timestamptz IS NULL THEN 'done' ELSE state END,
            updated_at = $5
        WHERE incident_id = $1 AND user_id = $2
        """,
        page.incident_id,
        page.user_id,
        fired_count,
        next_due_at,
        now,
    )


async def finish(conn: asyncpg.Connection, page: UserPage, state: str, now: datetime) -> None:
    """End a page as 'stopped' or 'done' without firing anything."""
    await conn.execute(
        "UPDATE user_pages SET state = $3, next_due_at = NULL, updated_at = $4 WHERE incident_id = $1 AND user_id = $2",
        page.incident_id,
        page.user_id,
        state,
        now,
    )


async def pages_of(conn: asyncpg.Connection, incident_id: int) -> list[UserPage]:
    """The incident's pages, by person."""
    rows = await conn.fetch(
        """
        SELECT p.*, i.status AS incident_status FROM user_pages p JOIN incidents i ON i.id = p.incident_id
        WHERE p.incident_id = $1 ORDER BY p.user_id
        """,
        incident_id,
    )
    return [UserPage.from_record(r) for r in rows]


async def use_link(
    conn: asyncpg.Connection, link_id: str, incident_id: int, user_id: str, action: str, channel: str,
    expires_at: datetime,
) -> datetime | None:
    """Record a link as used; None when it was used before, else the time it is used now."""
    return await conn.fetchval(
        """
        INSERT INTO used_action_links (link_id, incident_id, user_id, action, channel, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (link_id) DO NOTHING RETURNING used_at
        """,
        link_id,
        incident_id,
        user_id,
        action,
        channel,
        expires_at,
    )


async def link_used_at(conn: asyncpg.Connection, link_id: str) -> datetime | None:
    """When a link was used, or None."""
    return await conn.fetchval("SELECT used_at FROM used_action_links WHERE link_id = $1", link_id)


async def forget_expired_links(conn: asyncpg.Connection) -> int:
    """Drop records of links past their expiry (they are refused as expired anyway)."""
    status = await conn.execute("DELETE FROM used_action_links WHERE expires_at < now() - interval '1 hour'")
    return int(status.split()[-1])


async def reserve_send(conn: asyncpg.Connection, number: str, interval: float) -> tuple[float, datetime | None]:
    """Take the number's send slot: (0, the slot's time) when free, else (seconds until it frees, None)."""
    taken = await conn.fetchval(
        """
        INSERT INTO phone_sends AS p (number, last_sent_at) VALUES ($1, clock_timestamp())
        ON CONFLICT (number) DO UPDATE SET last_sent_at = clock_timestamp()
        WHERE p.last_sent_at <= clock_timestamp() - make_interval(secs => $2)
        RETURNING last_sent_at
        """,
        number,
        interval,
    )
    if taken is not None:
        return 0.0, taken
    wait = await conn.fetchval(
        "SELECT EXTRACT(EPOCH FROM last_sent_at + make_interval(secs => $2) - clock_timestamp())::float8 "
        "FROM phone_sends WHERE number = $1",
        number,
        interval,
    )
    return max(float(wait or 0.0), 0.01), None


async def release_send(conn: asyncpg.Connection, number: str, taken_at: datetime) -> None:
    """Give back a slot whose message was not sent (the provider refused it), so its retry need not wait."""
    await conn.execute("DELETE FROM phone_sends WHERE number = $1 AND last_sent_at = $2", number, taken_at)


async def latest_incident_texted(conn: asyncpg.Connection, number: str) -> int | None:
    """The incident of the latest text message sent to this number (an SMS reply is about it)."""
    return await conn.fetchval(
        """
        SELECT incident_id FROM deliveries
        WHERE channel = 'sms' AND target = $1 AND state = 'sent' AND external_ref IS DISTINCT FROM 'skipped'
        ORDER BY sent_at DESC, id DESC LIMIT 1
        """,
        number,
    )


async def pushover_receipt(conn: asyncpg.Connection, receipt: str) -> tuple[int, str] | None:
    """(incident id, Pushover user key) of the emergency message with this receipt, or None."""
    row = await conn.fetchrow(
        "SELECT incident_id, target FROM deliveries WHERE channel = 'pushover' AND external_ref = $1 LIMIT 1",
        receipt,
    )
    return (row["incident_id"], row["target"]) if row else None
