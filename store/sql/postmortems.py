"""Queries on post-mortems and on the incidents awaiting one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class Postmortem:
    """A stored review (version counts saves from 1)."""

    incident_id: int
    status: str
    markdown: str
    version: int
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def from_record(cls, r: Any) -> Postmortem:
        """Build from a row of postmortems."""
        return cls(**{name: r[name] for name in cls.__slots__})


async def get(conn: asyncpg.Connection, incident_id: int, *, for_update: bool = False) -> Postmortem | None:
    """The incident's review, or None."""
    lock = " FOR UPDATE" if for_update else ""
    query = f"SELECT * FROM postmortems WHERE incident_id = $1{lock}"  # noqa: S608 - a constant suffix, no input
    row = await conn.fetchrow(query, incident_id)
    return Postmortem.from_record(row) if row else None


async def save(
    conn: asyncpg.Connection, incident_id: int, version: int, status: str, markdown: str, who: str, now: datetime
) -> Postmortem | None:
    """Store version `version` (1: the first save); None when another save took that version first."""
    row = await conn.fetchrow(
        """
        INSERT INTO postmortems (incident_id, status, markdown, version, created_by, updated_by, created_at,
                                 updated_at, published_at)
        VALUES ($1, $2, $3, $4, $5, $5, $6::timestamptz, $6, CASE WHEN $2 = 'published' THEN $6::timestamptz END)
        ON CONFLICT (incident_id) DO UPDATE
        SET status = EXCLUDED.status, markdown = EXCLUDED.markdown, version = EXCLUDED.version,
            updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at,
            published_at = CASE WHEN EXCLUDED.status = 'published'
                                THEN coalesce(postmortems.published_at, EXCLUDED.updated_at) END
        WHERE postmortems.version = EXCLUDED.version - 1
        RETURNING *
        """,
        incident_id, status, markdown, version, who, now,
    )
    return Postmortem.from_record(row) if row else None


@dataclass(frozen=True, slots=True)
class Awaiting:
    """A resolved incident whose review is not published: a draft, or none yet."""

    incident_id: int
    title: str
    severity: str
    resolved_at: datetime
    status: str | None  # "draft", or None: not started
    updated_by: str | None
    updated_at: datetime | None


async def awaiting(
    conn: asyncpg.Connection, since: datetime, severities: list[str], limit: int
) -> list[Awaiting]:
    """Drafts, then incidents of these severities resolved since `since` with no review; latest first."""
    rows = await conn.fetch(
        """
        (SELECT i.id, i.title, i.severity, i.resolved_at, p.status, p.updated_by, p.updated_at
         FROM postmortems p JOIN incidents i ON i.id = p.incident_id
         WHERE p.status = 'draft'
         ORDER BY p.updated_at DESC LIMIT $3)
        UNION ALL
        (SELECT i.id, i.title, i.severity, i.resolved_at, NULL, NULL, NULL
         FROM incidents i
         WHERE i.resolved_at >= $1 AND i.status = 'resolved' AND i.severity = ANY($2::text[])
           AND NOT EXISTS (SELECT 1 FROM postmortems p WHERE p.incident_id = i.id)
         ORDER BY i.resolved_at DESC LIMIT $3)
        """,
        since, severities, limit,
    )
    return [Awaiting(r["id"], r["title"], r["severity"], r["resolved_at"], r["status"], r["updated_by"],
                     r["updated_at"]) for r in rows]
