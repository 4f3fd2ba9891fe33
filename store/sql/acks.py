"""Queries on acknowledgement timers (incident_acks): lapses and reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from store.domain.incident import Status


@dataclass(frozen=True, slots=True)
class AckRow:
    """An incident's acknowledgement timers, with its incident as it was when claimed."""

    incident_id: int
    acknowledged_at: datetime
    snoozed_until: datetime | None
    planned: bool
    lapses_at: datetime | None
    next_reminder_at: datetime | None
    next_due_at: datetime | None
    incident_status: Status
    incident_acknowledged_at: datetime | None
    acknowledged_by: str | None
    route_id: str

    @classmethod
    def from_record(cls, r: Any) -> AckRow:
        """Build from incident_acks joined with its incident."""
        values = {name: r[name] for name in cls.__slots__}
        values["incident_status"] = Status(values["incident_status"])
        return cls(**values)

    @property
    def current(self) -> bool:
        """True while the incident is still acknowledged by the acknowledgement these timers belong to."""
        return self.incident_status is Status.ACKNOWLEDGED and self.incident_acknowledged_at == self.acknowledged_at


async def begin(conn: asyncpg.Connection, incident_id: int, acknowledged_at: datetime,
                snoozed_until: datetime | None = None) -> None:
    """Start the timers of a new acknowledgement (or snooze); the scheduler plans them from the config at once."""
    await conn.execute(
        """
        INSERT INTO incident_acks (incident_id, acknowledged_at, snoozed_until, planned, lapses_at, next_reminder_at,
                                   next_due_at, updated_at)
        VALUES ($1, $2, $3, false, NULL, NULL, $2, $2)
        ON CONFLICT (incident_id) DO UPDATE
        SET acknowledged_at = EXCLUDED.acknowledged_at, snoozed_until = EXCLUDED.snoozed_until, planned = false,
            lapses_at = NULL, next_reminder_at = NULL, next_due_at = EXCLUDED.next_due_at,
            updated_at = EXCLUDED.updated_at
        """,
        incident_id,
        acknowledged_at,
        snoozed_until,
    )


async def claim_due(conn: asyncpg.Connection, now: datetime) -> AckRow | None:
    """Lock one due timer row and its incident; rows another transaction holds are skipped."""
    row = await conn.fetchrow(
        """
        SELECT a.*, i.status AS incident_status, i.acknowledged_at AS incident_acknowledged_at, i.acknowledged_by,
               i.route_id
        FROM incident_acks a JOIN incidents i ON i.id = a.incident_id
        WHERE a.next_due_at <= $1
        ORDER BY a.next_due_at, a.incident_id
        LIMIT 1
        FOR NO KEY UPDATE OF a, i SKIP LOCKED
        """,
        now,
    )
    return AckRow.from_record(row) if row else None


async def plan(conn: asyncpg.Connection, incident_id: int, lapses_at: datetime | None,
               next_reminder_at: datetime | None, next_due_at: datetime | None, now: datetime) -> None:
    """Store when the acknowledgement lapses, the next reminder and when to look again."""
    await conn.execute(
        """
        UPDATE incident_acks
        SET planned = true, lapses_at = $2, next_reminder_at = $3, next_due_at = $4, updated_at = $5
        WHERE incident_id = $1
        """,
        incident_id,
        lapses_at,
        next_reminder_at,
        next_due_at,
        now,
    )


async def drop(conn: asyncpg.Connection, incident_id: int) -> None:
    """Forget the timers (the acknowledgement ended, lapsed, or has nothing left to do)."""
    await conn.execute("DELETE FROM incident_acks WHERE incident_id = $1", incident_id)


async def snoozed_until(conn: asyncpg.Connection, incident_ids: list[int]) -> dict[int, datetime]:
    """When each of these incidents' snooze ends (only those snoozed)."""
    rows = await conn.fetch(
        "SELECT incident_id, snoozed_until FROM incident_acks WHERE incident_id = ANY($1::bigint[]) "
        "AND snoozed_until IS NOT NULL",
        incident_ids,
    )
    return {r["incident_id"]: r["snoozed_until"] for r in rows}
