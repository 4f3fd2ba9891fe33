"""Queries on config_versions: every config file applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

CONFIG_LOCK = 0x70C51_C0F  # one config apply at a time across replicas (pg_advisory_xact_lock)


@dataclass(frozen=True, slots=True)
class ConfigVersion:
    """One applied config file: its text, where it came from, who applied it, when and how."""

    version: int
    body: str
    sha256: str
    source: str
    applied_by: str
    applied_via: str
    applied_at: datetime

    @classmethod
    def from_record(cls, r: Any) -> ConfigVersion:
        """Build from a row of config_versions."""
        return cls(**{name: r[name] for name in cls.__slots__})


async def lock(conn: asyncpg.Connection) -> None:
    """Serialize config applies until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", CONFIG_LOCK)


async def insert(
    conn: asyncpg.Connection, body: str, sha256: str, source: str, applied_by: str, applied_via: str, now: datetime
) -> ConfigVersion:
    """Store a new version (the newest wins)."""
    row = await conn.fetchrow(
        """
        INSERT INTO config_versions (body, sha256, source, applied_by, applied_via, applied_at)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING *
        """,
        body, sha256, source, applied_by, applied_via, now,
    )
    return ConfigVersion.from_record(row)


async def latest(conn: asyncpg.Connection) -> ConfigVersion | None:
    """The version in force (the newest), or None before the first apply."""
    row = await conn.fetchrow("SELECT * FROM config_versions ORDER BY version DESC LIMIT 1")
    return ConfigVersion.from_record(row) if row else None


async def latest_number(conn: asyncpg.Connection) -> int | None:
    """The newest version's number only (the cheap periodic check)."""
    return await conn.fetchval("SELECT max(version) FROM config_versions")


async def with_sha256(conn: asyncpg.Connection, sha256: str) -> ConfigVersion | None:
    """The newest version whose file had exactly this content, if any was ever applied."""
    row = await conn.fetchrow(
        "SELECT * FROM config_versions WHERE sha256 = $1 ORDER BY version DESC LIMIT 1", sha256
    )
    return ConfigVersion.from_record(row) if row else None


async def recent(conn: asyncpg.Connection, limit: int) -> list[ConfigVersion]:
    """The newest versions, newest first."""
    rows = await conn.fetch("SELECT * FROM config_versions ORDER BY version DESC LIMIT $1", limit)
    return [ConfigVersion.from_record(r) for r in rows]
