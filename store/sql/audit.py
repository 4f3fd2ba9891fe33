"""Queries on audit_log: changes outside incidents (config versions, overrides, tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what to which subject, when and through which channel."""

    id: int
    actor: str
    source: str
    action: str
    subject: str
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_record(cls, r: Any) -> AuditEntry:
        """Build from a row of audit_log."""
        return cls(**{name: r[name] for name in cls.__slots__})


async def insert(
    conn: asyncpg.Connection, actor: str, source: str, action: str, subject: str, data: dict[str, Any], now: datetime
) -> AuditEntry:
    """Write one entry."""
    row = await conn.fetchrow(
        """
        INSERT INTO audit_log (actor, source, action, subject, data, created_at)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING *
        """,
        actor, source, action, subject, data, now,
    )
    return AuditEntry.from_record(row)


async def recent(conn: asyncpg.Connection, limit: int, subject_prefix: str = "") -> list[AuditEntry]:
    """The newest entries (of subjects starting with `subject_prefix`), newest first."""
    rows = await conn.fetch(
        """
        SELECT * FROM audit_log WHERE starts_with(subject, $2) ORDER BY created_at DESC, id DESC LIMIT $1
        """,
        limit, subject_prefix,
    )
    return [AuditEntry.from_record(r) for r in rows]
