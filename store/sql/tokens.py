"""Queries on api_tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from store.domain.tokens import Role


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A stored token (its hash stays in the database)."""

    id: int
    name: str
    role: Role
    user_id: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_record(cls, r: Any) -> ApiToken:
        """Build from an asyncpg record of api_tokens."""
        values = {name: r[name] for name in cls.__slots__}
        values["role"] = Role(values["role"])
        return cls(**values)


COLUMNS = "id, name, role, user_id, created_at, last_used_at, revoked_at"


async def insert(
    conn: asyncpg.Connection, name: str, role: Role, user_id: str | None, token_hash: str, now: datetime
) -> ApiToken | None:
    """Store a token; None when the name is taken."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO api_tokens (name, role, user_id, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (name) DO NOTHING
        RETURNING {COLUMNS}
        """,  # noqa: S608 - COLUMNS is a module constant; values are parameters
        name,
        role.value,
        user_id,
        token_hash,
        now,
    )
    return ApiToken.from_record(row) if row else None


async def list_all(conn: asyncpg.Connection) -> list[ApiToken]:
    """Every token, by name."""
    return [ApiToken.from_record(r) for r in await conn.fetch(f"SELECT {COLUMNS} FROM api_tokens ORDER BY name")]  # noqa: S608 - COLUMNS is a module constant


async def revoke(conn: asyncpg.Connection, name: str, now: datetime) -> ApiToken | None:
    """Mark a token revoked (kept for the record); None when no token has that name."""
    row = await conn.fetchrow(
        f"UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE name = $1 RETURNING {COLUMNS}", name, now  # noqa: S608 - COLUMNS is a module constant; values are parameters
    )
    return ApiToken.from_record(row) if row else None


async def find_by_hash(conn: asyncpg.Connection, token_hash: str) -> ApiToken | None:
    """The token with this hash, revoked or not."""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1", token_hash)  # noqa: S608 - COLUMNS is a module constant; values are parameters
    return ApiToken.from_record(row) if row else None


async def mark_used(conn: asyncpg.Connection, token_id: int, now: datetime, every_seconds: float) -> None:
    """Record use, at most once per `every_seconds` (a write per request would be waste)."""
    await conn.execute(
        """
        UPDATE api_tokens SET last_used_at = $2
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - make_interval(secs => $3::float8))
        """,
        token_id,
        now,
        every_seconds,
    )
