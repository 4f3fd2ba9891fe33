"""Queries on shared_secrets: secrets every replica shares, made once."""

from __future__ import annotations

import asyncpg


async def get_or_create(conn: asyncpg.Connection, name: str, candidate: str) -> str:
    """The secret stored under `name`; `candidate` is stored first when there is none (the first replica wins)."""
    await conn.execute(
        "INSERT INTO shared_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", name, candidate
    )
    return await conn.fetchval("SELECT value FROM shared_secrets WHERE name = $1", name)
