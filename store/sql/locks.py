"""Session-level advisory locks (held by one connection until released or the connection ends)."""

from __future__ import annotations

import asyncpg

# Keys of the cluster-wide locks Tocsin takes; distinct from migrations/env.py's MIGRATION_LOCK_ID.
TELEGRAM_POLLER = 0x546F6373696E5447  # "TocsinTG": the one replica that long-polls Telegram


async def try_lock(conn: asyncpg.Connection, key: int) -> bool:
    """Take the lock for this session if nobody holds it; True when taken (or already held by this session)."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))


async def unlock(conn: asyncpg.Connection, key: int) -> bool:
    """Release the lock held by this session; False when it did not hold it."""
    return bool(await conn.fetchval("SELECT pg_advisory_unlock($1)", key))


async def holds(conn: asyncpg.Connection, key: int) -> bool:
    """Whether this session holds the lock (also proves the connection still works)."""
    return bool(
        await conn.fetchval(
            """
            SELECT EXISTS (
                SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                  AND ((classid::bigint << 32) | objid::bigint) = $1
            )
            """,
            key,
        )
    )
