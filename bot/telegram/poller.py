"""Long polling by one replica only: poll while holding a PostgreSQL session advisory lock."""

from __future__ import annotations

import asyncio
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
        self.turns = 0  # times this replica took the lock and started polling
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        """Begin trying to take the lock, in the background."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name="telegram-poller")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop polling and release the lock (the loop winds down itself; cancelled after `grace` seconds)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        # PTB's Updater.stop() swallows a CancelledError while it waits for its polling task, so the
        # loop is asked to end through _stopping, and cancelled only as a fallback, until it is done.
        await asyncio.wait({task}, timeout=grace)
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1)
        if not task.cancelled() and task.exception() is not None:
            log.error("telegram poller ended with an error", exc_info=task.exception())

    async def run(self) -> None:
        """Until stopped: take the lock when free, poll while held, retry periodically."""
        while not self._stopping.is_set():
            try:
                await self._attempt()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("telegram poller: database trouble (%s: %s); retrying", type(exc).__name__, exc)
            except Exception:  # the poller must outlive any one failure, or no replica would poll
                log.exception("telegram poller: unexpected error; retrying")
            await _wait(self._stopping, self.retry_interval)

    async def _attempt(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=10, command_timeout=10)
        try:
            self.attempts += 1
            if await locks.try_lock(conn, self.key):
                await self._poll_while_held(conn)
        finally:
            await _close(conn)

    async def _poll_while_held(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        log.info("telegram poller: this replica holds the poller lock and starts long polling")
        try:
            await self.updater.start_polling(timeout=self.poll_timeout, allowed_updates=list(ALLOWED_UPDATES))
            self.polling = True
            self.turns += 1
            while not self._stopping.is_set():
                await _wait(lost, self.check_interval, also=self._stopping)
                if self._stopping.is_set():
                    return
                if lost.is_set() or conn.is_closed() or not await asyncio.wait_for(locks.holds(conn, self.key), 10):
                    log.warning("telegram poller: the poller lock is gone (database session lost); polling stops")
                    return
        finally:
            self.polling = False
            if self.updater.running:  # also after a cancellation inside start_polling, which leaves it "running"
                await self.updater.stop()


async def _wait(event: asyncio.Event, seconds: float, also: asyncio.Event | None = None) -> None:
    """Sleep up to `seconds`, waking early when `event` (or `also`) is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in (event, also) if e is not None]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _close(conn: asyncpg.Connection) -> None:
    if conn.is_closed():
        return
    try:
        await asyncio.wait_for(conn.close(), 5)  # closing the session releases its advisory lock
    except Exception:  # noqa: BLE001 - a broken connection is dropped either way
        conn.terminate()
