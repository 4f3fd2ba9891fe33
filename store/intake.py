"""The intake: concurrent webhooks share transactions ("group commit"), and none waits longer than a bound.

In an outage Alertmanager sends many webhooks at once, often into the same group, and an HA pair sends
each twice. One transaction per webhook would queue them all on the same incident row and on pooled
connections. Here each webhook's batch joins a queue; a few workers, each with a connection of its own,
take everything waiting (up to a number of alerts) and store it in one transaction, as if the batches had
come one after another. A batch that is still waiting after `max_wait` is answered "overloaded" and
nothing of it is stored, so Alertmanager sends it again later; a batch that disagrees with one already
taken about the same alert instance waits for the next transaction, so order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

from store.db import Database
from store.domain.alerts import AlertBatch, AlertSignal
from store.domain.batching import Identity, identity
from store.domain.routing import RouteTable
from store.errors import TIMED_OUT, UNAVAILABLE
from store.ingest import IngestResult, ingest_many

log = logging.getLogger(__name__)


class Overloaded(Exception):
    """The batch waited longer than allowed for a transaction to take it; nothing of it was stored."""


@dataclass(eq=False, slots=True)
class _Waiting:
    batch: AlertBatch
    future: asyncio.Future[IngestResult]
    taken: bool = False
    dropped: bool = False


@dataclass(slots=True)
class IntakeSettings:
    """How long a batch may wait, how many transactions run at once and how much one takes."""

    max_wait: float = 5.0
    workers: int = 2
    max_alerts: int = 5000
    # Webhooks being parsed or waiting for their transaction at once. The rest wait outside, costing the event
    # loop nothing, so a click or an escalation never queues behind hundreds of webhooks' work on this process.
    # Measured with 100 connections flooding one group (tests/perf/bench_outage.py): 32 gave acknowledge
    # p99 100 ms and 462 webhooks/s, 64 gave 181 ms and 566/s, 100 gave 212 ms and 569/s; 48 keeps under 200 ms.
    # Again once webhooks bypassed Quart (webhook/asgi.py): 48 gave 628 webhooks/s and acknowledge p99 153 ms,
    # 80 gave 864/s and 197 ms.
    admitted: int = 48


@dataclass(eq=False)
class Intake:
    """The queue and its workers; `start()` on the serving loop, `submit()` per webhook, `stop()` at the end."""

    db: Database
    routes: Callable[[], RouteTable]
    clock: Callable[[], datetime]
    settings: IntakeSettings = field(default_factory=IntakeSettings)

    def __post_init__(self) -> None:
        self._queue: deque[_Waiting] = deque()
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False
        self._slots = asyncio.Semaphore(self.settings.admitted)
        self.transactions = 0  # shared transactions committed, and the batches they stored (for /metrics)
        self.batches = 0
        self.overloaded = 0  # batches answered overloaded

    def start(self) -> None:
        """Start the workers."""
        self._workers = [asyncio.create_task(self._work(), name=f"intake-{n}") for n in range(self.settings.workers)]

    async def stop(self, grace: float = 10.0) -> None:
        """Let the workers finish what they took (bounded), then answer what still waits as overloaded."""
        self._stopping = True
        self._wake.set()
        if self._workers:
            _, pending = await asyncio.wait(self._workers, timeout=grace)
            for task in pending:
                log.warning("intake worker %s still storing after %.0f s at shutdown: cancelled", task.get_name(),
                            grace)
                task.cancel()
        while self._queue:
            self._fail(self._queue.popleft(), Overloaded("Tocsin is shutting down"))

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[float]:
        """A webhook's turn: wait for one of the `admitted` slots; yields the deadline (loop time) by which a
        transaction must take its batch. Overloaded when no slot frees up within max_wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.max_wait
        try:
            await asyncio.wait_for(self._slots.acquire(), self.settings.max_wait)
        except TimeoutError:
            self.overloaded += 1
            raise Overloaded(f"no transaction could take the webhook within {self.settings.max_wait:g} s") from None
        try:
            yield deadline
        finally:
            self._slots.release()

    async def submit(self, batch: AlertBatch, deadline: float | None = None) -> IngestResult:
        """Store the batch with whatever else is waiting; Overloaded if no transaction took it by the deadline
        (loop time; default max_wait from now)."""
        if self._stopping:
            self.overloaded += 1
            raise Overloaded("Tocsin is shutting down")
        loop = asyncio.get_running_loop()
        waiting = _Waiting(batch, loop.create_future())
        self._queue.append(waiting)
        self._wake.set()
        left = (deadline if deadline is not None else loop.time() + self.settings.max_wait) - loop.time()
        done, _ = await asyncio.wait({waiting.future}, timeout=max(0.0, left))
        if not done and not waiting.taken:
            waiting.dropped = True
            self.overloaded += 1
            raise Overloaded(f"no transaction could take the webhook within {self.settings.max_wait:g} s")
        return await waiting.future  # taken: its transaction is bounded by the connection's statement_timeout

    def waiting(self) -> int:
        """Batches waiting for a transaction now."""
        return sum(1 for w in self._queue if not w.dropped)

    async def _work(self) -> None:
        while True:
            taken = self._take()
            if not taken:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._store(taken)

    def _take(self) -> list[_Waiting]:
        """Everything waiting, in order, up to max_alerts, stopping at a batch that disagrees with one taken."""
        taken: list[_Waiting] = []
        seen: dict[Identity, AlertSignal] = {}  # the alerts taken, filled only once another batch waits
        alerts = 0
        while self._queue:
            head = self._queue[0]
            if head.dropped or head.future.done():
                self._queue.popleft()
                continue
            if taken:
                if alerts + len(head.batch.alerts) > self.settings.max_alerts:
                    break
                if not seen:
                    seen.update((identity(a), a) for waiting in taken for a in waiting.batch.alerts)
                if _disagrees(head.batch, seen):
                    break
                seen.update((identity(a), a) for a in head.batch.alerts)
            self._queue.popleft()
            head.taken = True
            taken.append(head)
            alerts += len(head.batch.alerts)
        return taken

    async def _store(self, taken: list[_Waiting]) -> None:
        try:
            results = await ingest_many(self.db, [w.batch for w in taken], self.routes(), self.clock)
        except asyncio.CancelledError:
            for waiting in taken:
                self._fail(waiting, Overloaded("Tocsin is shutting down"))
            raise
        except Exception as exc:
            if len(taken) == 1 or _is_unavailable(exc):
                for waiting in taken:
                    self._fail(waiting, exc)
                return
            # One batch may be what failed: store each alone so the others do not fail with it.
            log.warning("a shared ingest transaction failed (%s); storing its %d batches one by one",
                        type(exc).__name__, len(taken))
            for waiting in taken:
                await self._store([waiting])
            return
        self.transactions += 1
        self.batches += len(taken)
        for waiting, result in zip(taken, results, strict=True):
            if not waiting.future.done():
                waiting.future.set_result(result)

    @staticmethod
    def _fail(waiting: _Waiting, exc: BaseException) -> None:
        if not waiting.future.done():
            waiting.future.set_exception(exc)
            with contextlib.suppress(asyncio.InvalidStateError):
                waiting.future.exception()  # mark retrieved: a dropped waiter never reads it


def _disagrees(batch: AlertBatch, seen: dict[Identity, AlertSignal]) -> bool:
    """True when the batch carries an alert instance already taken with different content."""
    return any((other := seen.get(identity(a))) is not None and other != a for a in batch.alerts)


def _is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, (*UNAVAILABLE, *TIMED_OUT))
