"""Long polling by one replica only: poll while holding a PostgreSQL session advisory lock."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from telegram.ext import Application

from store.sql import locks

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ("message", "callback_query")


class SinglePoller:
    """Holds the Telegram poller lock on a dedicated connection and polls only while it holds it.

    Telegram lets one consumer call getUpdates; with several replicas, the one holding the lock polls,
    and another takes over within `retry_interval` once its connection (or process) goes away.
    """

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        dsn: str,
        *,
        key: int = locks.TELEGRAM_POLLER,
        retry_interval: float = 10.0,
        check_interval: float = 10.0,
        poll_timeout: float = 30.0,
    ) -> None:
        if application.updater is None:
            raise ValueError("long polling needs an Application built with an updater (not webhook mode)")
        self.updater = application.updater
        self.dsn = dsn
        self.key = key
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self.poll_timeout = poll_timeout
        self.polling = False
        self.attempts = 0  # lock attempts made, for logs and tests
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin trying to take the lock, in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="telegram-poller")

    async def stop(self) -> None:
        """Stop polling and release the lock."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Until cancelled: take the lock when free, poll while held, retry periodically."""
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=10, command_timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("telegram poller: cannot reach the database (%s); retrying", type(exc).__name__)
            else:
                try:
                    self.attempts += 1
                    if await locks.try_lock(conn, self.key):
                        await self._poll_while_held(conn)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                    log.warning("telegram poller: lost the database connection (%s)", type(exc).__name__)
                finally:
                    await _close(conn)
            await asyncio.sleep(self.retry_interval)

    async def _poll_while_held(self, conn: asyncpg.Connection) -> None:
        log.info("telegram poller: this replica holds the poller lock and starts long polling")
        await self.updater.start_polling(timeout=self.poll_timeout, allowed_updates=list(ALLOWED_UPDATES))
        self.polling = True
        try:
            while True:
                await asyncio.sleep(self.check_interval)
                if not await locks.holds(conn, self.key):
                    break
            log.warning("telegram poller: the poller lock is gone; polling stops")
        finally:
            self.polling = False
            if self.updater.running:
                await self.updater.stop()


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 5)  # closing the session releases its advisory lock
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        conn.terminate()
