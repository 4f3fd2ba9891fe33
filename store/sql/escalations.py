"""Queries on escalation state (incident_escalations) and handoff announcements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from store.domain.incident import Status


@dataclass(frozen=True, slots=True)
class Escalation:
    """One incident's escalation state, with its incident's status at the moment it was read."""

    incident_id: int
    policy_id: str
    triggered_at: datetime
    fired_count: int
    next_due_at: datetime | None
    state: str
    incident_status: Status
    resume_at: datetime | None = None  # a reopening resumed it here: the claim re-plans the steps left

    @classmethod
    def from_record(cls, r: Any) -> Escalation:
        """Build from a row of incident_escalations joined with its incident's status."""
        values = {name: r[name] for name in cls.__slots__ if name != "incident_status"}
        values["incident_status"] = Status(r["incident_status"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class HandoffAnnouncement:
    """A handoff announced in a schedule's channels (user None: nobody is on call now)."""

    id: int
    schedule_id: str
    handoff_at: datetime
    user_id: str | None
    until: datetime | None
    slack_channel: str | None
    telegram_chat: str | None
    message: str
    created_at: datetime

    @classmethod
    def from_record(cls, r: Any) -> HandoffAnnouncement:
        """Build from a row of handoff_announcements."""
        return cls(**{name: r[name] for name in cls.__slots__})


async def start(conn: asyncpg.Connection, incident_id: int, policy_id: str, triggered_at: datetime) -> None:
    """Begin (or, on reopening, begin again) the incident's escalation from its first step."""
    await conn.execute(
        """
        INSERT INTO incident_escalations (incident_id, policy_id, triggered_at, fired_count, next_due_at, state,
                                          updated_at)
        VALUES ($1, $2, $3, 0, $3, 'active', $3)
        ON CONFLICT (incident_id) DO UPDATE
        SET policy_id = EXCLUDED.policy_id, triggered_at = EXCLUDED.triggered_at, fired_count = 0,
            next_due_at = EXCLUDED.next_due_at, state = 'active', resume_at = NULL, updated_at = EXCLUDED.updated_at
        """,
        incident_id,
        policy_id,
        triggered_at,
    )


async def stop(conn: asyncpg.Connection, incident_id: int) -> bool:
    """Stop an active escalation; True when one was stopped."""
    status = await conn.execute(
        """
        UPDATE incident_escalations SET state = 'stopped', next_due_at = NULL, updated_at = now()
        WHERE incident_id = $1 AND state = 'active'
        """,
        incident_id,
    )
    return status.endswith(" 1")


async def restart(conn: asyncpg.Connection, incident_id: int, now: datetime) -> bool:
    """Run the incident's escalation again from its first step, counted from `now`; False when it has none."""
    status = await conn.execute(
        """
        UPDATE incident_escalations
        SET triggered_at = $2, fired_count = 0, next_due_at = $2, state = 'active', resume_at = NULL, updated_at = $2
        WHERE incident_id = $1
        """,
        incident_id,
        now,
    )
    return status.endswith(" 1")


async def resume(conn: asyncpg.Connection, incident_id: int, now: datetime) -> bool:
    """Continue a stopped escalation with its next step (a reopening; one whose steps all fired stays done);
    False when the incident has none."""
    status = await conn.execute(
        """
        UPDATE incident_escalations
        SET state = CASE WHEN state = 'done' THEN state ELSE 'active' END,
            next_due_at = CASE WHEN state = 'done' THEN NULL ELSE $2::timestamptz END,
            resume_at = CASE WHEN state = 'done' THEN NULL ELSE $2 END, updated_at = $2
        WHERE incident_id = $1
        """,
        incident_id,
        now,
    )
    return status.endswith(" 1")


async def hold(conn: asyncpg.Connection, incident_id: int, policy_id: str, now: datetime) -> None:
    """Know the incident's policy without running it (it opened quiet); restart() runs it later."""
    await conn.execute(
        """
        INSERT INTO incident_escalations (incident_id, policy_id, triggered_at, fired_count, next_due_at, state,
                                          updated_at)
        VALUES ($1, $2, $3, 0, NULL, 'stopped', $3)
        ON CONFLICT (incident_id) DO UPDATE SET state = 'stopped', next_due_at = NULL, updated_at = EXCLUDED.updated_at
        """,
        incident_id,
        policy_id,
        now,
    )


async def lock(conn: asyncpg.Connection, incident_id: int) -> Escalation | None:
    """The incident's escalation state, locked (the incident row is the caller's to lock)."""
    row = await conn.fetchrow(
        """
        SELECT e.*, i.status AS incident_status
        FROM incident_escalations e JOIN incidents i ON i.id = e.incident_id
        WHERE e.incident_id = $1
        FOR NO KEY UPDATE OF e
        """,
        incident_id,
    )
    return Escalation.from_record(row) if row else None


async def activate(conn: asyncpg.Connection, incident_id: int, now: datetime) -> None:
    """Let a stopped escalation run on from where it is (its next step at its planned time)."""
    await conn.execute(
        "UPDATE incident_escalations SET state = 'active', updated_at = $2 WHERE incident_id = $1", incident_id, now
    )


async def retime(conn: asyncpg.Connection, incident_id: int, triggered_at: datetime) -> None:
    """Count the steps left of a resumed escalation from this instant."""
    await conn.execute(
        "UPDATE incident_escalations SET triggered_at = $2, resume_at = NULL WHERE incident_id = $1",
        incident_id,
        triggered_at,
    )


async def claim_due(conn: asyncpg.Connection, now: datetime) -> Escalation | None:
    """Lock one due active escalation and its incident; rows another transaction holds are skipped."""
    row = await conn.fetchrow(
        """
        SELECT e.*, i.status AS incident_status
        FROM incident_escalations e JOIN incidents i ON i.id = e.incident_id
        WHERE e.state = 'active' AND e.next_due_at <= $1
        ORDER BY e.next_due_at, e.incident_id
        LIMIT 1
        FOR NO KEY UPDATE OF e, i SKIP LOCKED
        """,
        now,
    )
    return Escalation.from_record(row) if row else None


async def get(conn: asyncpg.Connection, incident_id: int) -> Escalation | None:
    """The incident's escalation state, or None when it has none."""
    row = await conn.fetchrow(
        """
        SELECT e.*, i.status AS incident_status
        FROM incident_escalations e JOIN incidents i ON i.id = e.incident_id
        WHERE e.incident_id = $1
        """,
        incident_id,
    )
    return Escalation.from_record(row) if row else None


async def advance(
    conn: asyncpg.Connection, incident_id: int, fired_count: int, next_due_at: datetime | None, now: datetime
) -> None:
    """Store how many steps have fired and when the next is due (None: every step has fired)."""
    await conn.execute(
        """
        UPDATE incident_escalations
        SET fired_count = $2, next_due_at = $3, state = CASE WHEN $3::timestamptz IS NULL THEN 'done' ELSE state END,
            updated_at = $4
        WHERE incident_id = $1
        """,
        incident_id,
        fired_count,
        next_due_at,
        now,
    )


async def replan(conn: asyncpg.Connection, policy_ids: list[str], now: datetime) -> int:
    """Make active escalations of these policies due now, so their next step is planned again from the new
    policy when next claimed (a step planned later moves back, one planned earlier fires); how many."""
    status = await conn.execute(
        """
        UPDATE incident_escalations SET next_due_at = $2, updated_at = $2
        WHERE state = 'active' AND policy_id = ANY($1::text[]) AND next_due_at > $2
        """,
        policy_ids,
        now,
    )
    return int(status.split()[-1])


async def finish(conn: asyncpg.Connection, incident_id: int, state: str, now: datetime) -> None:
    """End the escalation as 'stopped' or 'done' without firing anything."""
    await conn.execute(
        "UPDATE incident_escalations SET state = $2, next_due_at = NULL, updated_at = $3 WHERE incident_id = $1",
        incident_id,
        state,
        now,
    )


async def insert_handoff(
    conn: asyncpg.Connection,
    schedule_id: str,
    handoff_at: datetime,
    user_id: str | None,
    until: datetime | None,
    slack_channel: str | None,
    telegram_chat: str | None,
    message: str,
    now: datetime,
) -> HandoffAnnouncement | None:
    """Record a handoff's announcement; None when it was already recorded (by this or another replica)."""
    row = await conn.fetchrow(
        """
        INSERT INTO handoff_announcements
            (schedule_id, handoff_at, user_id, until, slack_channel, telegram_chat, message, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (schedule_id, handoff_at) DO NOTHING
        RETURNING *
        """,
        schedule_id,
        handoff_at,
        user_id,
        until,
        slack_channel,
        telegram_chat,
        message,
        now,
    )
    return HandoffAnnouncement.from_record(row) if row else None


async def list_handoffs(conn: asyncpg.Connection, schedule_id: str) -> list[HandoffAnnouncement]:
    """A schedule's announcements, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM handoff_announcements WHERE schedule_id = $1 ORDER BY handoff_at, id", schedule_id
    )
    return [HandoffAnnouncement.from_record(r) for r in rows]


async def hurry(conn: asyncpg.Connection, incident_id: int, triggered_at: datetime, now: datetime) -> None:
    """Move an active escalation's clock so that its next step is due now (the later steps keep their spacing)."""
    await conn.execute(
        """
        UPDATE incident_escalations SET triggered_at = $2, next_due_at = $3, updated_at = $3
        WHERE incident_id = $1 AND state = 'active'
        """,
        incident_id,
        triggered_at,
        now,
    )
