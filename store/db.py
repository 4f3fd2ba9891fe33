"""The asyncpg pool: sizing, connection lifetime, JSON codecs and transactions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson

from store.errors import UNAVAILABLE, Unavailable
from store.settings import DatabaseSettings


class TocsinConnection(asyncpg.Connection):
    """A connection that knows its age, so the pool can retire it after DB_CONN_MAX_LIFETIME."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.born = time.monotonic()
        self.skip_next_reset = False

    def skip_reset_once(self) -> None:
        """The session holds no state now: the next release needs no reset query."""
        self.skip_next_reset = True

    def get_reset_query(self) -> str:
        """The pool's reset query on release; empty once after a transaction that left no session state."""
        if self.skip_next_reset:
            self.skip_next_reset = False
            return ""
        return super().get_reset_query()


def _encode_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _unavailable(exc: BaseException) -> Unavailable:
    return exc if isinstance(exc, Unavailable) else Unavailable.database(exc)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_encode_json, decoder=orjson.loads, schema="pg_catalog")


class Database:
    """The pool, with transactions and connection lifetime handled in one place."""

    def __init__(self, pool: asyncpg.Pool, settings: DatabaseSettings, dsn: str) -> None:
        self.pool = pool
        self.settings = settings
        self.dsn = dsn

    @asynccontextmanager
    async def connection(self, *, stateless: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, retired after its maximum lifetime; the database being away raises Unavailable.
        `stateless`: as for transaction()."""
        try:
            conn = await self.pool.acquire()
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        async with self._lent(conn):
            try:
                yield conn
            finally:
                if stateless:
                    conn.skip_reset_once()  # a transaction still open is rolled back on release all the same

    @asynccontextmanager
    async def spare_connection(self, wait: float = 0.5) -> AsyncIterator[asyncpg.Connection | None]:
        """A second connection for a caller that already holds one, or None when the pool has none free (or none
        frees up within `wait` seconds): waiting longer while holding one could deadlock a full pool."""
        pool = self.pool
        if pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size():
            yield None
            return
        try:
            conn = await pool.acquire(timeout=wait)
        except TimeoutError:
            conn = None
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        if conn is None:
            yield None
            return
        async with self._lent(conn):
            yield conn

    @asynccontextmanager
    async def _lent(self, conn: asyncpg.Connection) -> AsyncIterator[None]:
        """Give an acquired connection back to the pool, retired after its maximum lifetime."""
        try:
            yield
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        finally:
            try:
                if time.monotonic() - conn.born > self.settings.conn_max_lifetime:
                    await conn.close(timeout=2)
                await self.pool.release(conn)
            except UNAVAILABLE:  # the connection died with the server; the pool drops it
                pass

    @asynccontextmanager
    async def transaction(self, *, stateless: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A connection inside one transaction, committed on success and rolled back on error.

        `stateless=True` is the caller's promise to run only statements whose effects end with the
        transaction (no SET, LISTEN, session advisory lock or WITH HOLD cursor): the pool then skips its
        reset query on release, one round trip less on hot paths such as ingest and people's actions.
        """
        async with self.connection(stateless=stateless) as conn, conn.transaction():
            yield conn

    async def close(self) -> None:
        """Close every connection of the pool."""
        await self.pool.close()

    def usage(self) -> tuple[int, int]:
        """(connections open, connections idle) right now."""
        return self.pool.get_size(), self.pool.get_idle_size()


async def create_database(
    dsn: str, settings: DatabaseSettings, server_settings: dict[str, str] | None = None
) -> Database:
    """Open the pool: at most DB_MAX_OPEN_CONNS, keeping DB_MAX_IDLE_CONNS idle ones; `server_settings`
    (such as statement_timeout) apply to each of its connections."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min(settings.max_idle_conns, settings.max_open_conns),
        max_size=settings.max_open_conns,
        max_inactive_connection_lifetime=min(60.0, settings.conn_max_lifetime),
        connection_class=TocsinConnection,
        init=_init_connection,
        command_timeout=30,
        server_settings=server_settings,
    )
    return Database(pool, settings, dsn)
