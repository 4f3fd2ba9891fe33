"""LISTEN for the after-commit notifications on a dedicated connection that reconnects when lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from store.sql.events import CHANNEL

log = logging.getLogger(__name__)


async def cancel(task: asyncio.Task[object] | None) -> None:
    """Cancel a background task and wait until it has ended."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class EventListener:
    """Calls `on_event(payload)` for each NOTIFY on tocsin_events, and `on_connect()` after each (re)connect.

    After a reconnect, notifications sent while the connection was down are lost: on_connect lets the
    caller catch up (the delivery worker simply looks for due work).
    """

    def __init__(
        self,
        dsn: str,
        on_event: Callable[[str], None],
        on_connect: Callable[[], None] | None = None,
        retry_max: float = 30.0,
    ) -> None:
        self.dsn = dsn
        self.on_event = on_event
        self.on_connect = on_connect or (lambda: None)
        self.retry_max = retry_max
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None

    def start(self) -> None:
        """Start listening in the background."""
        self._task = asyncio.create_task(self._run(), name="tocsin-listen")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        await cancel(self._task)
        self._task = None
        await self._close()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            lost = asyncio.Event()
            try:
                self._conn = await asyncpg.connect(self.dsn, timeout=10)
                self._conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await self._conn.add_listener(CHANNEL, self._deliver)
                self.connected.set()
                delay = 0.5
                self.on_connect()
                while not lost.is_set():
                    # A connection can die silently (network): a cheap query every few seconds notices.
                    with contextlib.suppress(TimeoutError):  # asyncio.timeout: wait_for can swallow a cancel (3.11)
                        async with asyncio.timeout(5):
                            await lost.wait()
                    if not lost.is_set():
                        await self._conn.execute("SELECT 1", timeout=5)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("listening for events failed (%s); reconnecting in %.1fs", type(exc).__name__, delay)
            self.connected.clear()
            await self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max)

    def _deliver(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.on_event(payload)

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
