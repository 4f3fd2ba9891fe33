"""Queries on auth_failures: one row per client with failures in its current window (rows expire with it)."""

from __future__ import annotations

import asyncpg


async def record(conn: asyncpg.Connection, client: str, window_seconds: float) -> tuple[int, float]:
    """Count one failure in the client's window (a new window when the last one ended):
    (failures in the window, seconds until it ends), on the database's clock."""
    row = await conn.fetchrow(
        """
        INSERT INTO auth_failures AS f (client, failures, expires_at)
        VALUES ($1, 1, now() + make_interval(secs => $2::float8))
        ON CONFLICT (client) DO UPDATE SET
            failures = CASE WHEN f.expires_at <= now() THEN 1 ELSE f.failures + 1 END,
            expires_at = CASE WHEN f.expires_at <= now() THEN EXCLUDED.expires_at ELSE f.expires_at END
        RETURNING failures, extract(epoch FROM expires_at - now())::float8 AS remaining
        """,
        client,
        window_seconds,
    )
    return row["failures"], row["remaining"]


async def blocked(conn: asyncpg.Connection, limit: int) -> list[tuple[str, float]]:
    """Clients at or over `limit` failures in a window not yet over: (client, seconds until it ends)."""
    rows = await conn.fetch(
        """
        SELECT client, extract(epoch FROM expires_at - now())::float8 AS remaining
        FROM auth_failures WHERE expires_at > now() AND failures >= $1
        """,
        limit,
    )
    return [(r["client"], r["remaining"]) for r in rows]


async def delete_expired(conn: asyncpg.Connection) -> int:
    """Forget windows that have ended; how many rows went."""
    status = await conn.execute("DELETE FROM auth_failures WHERE expires_at <= now()")
    return int(status.split()[-1])
