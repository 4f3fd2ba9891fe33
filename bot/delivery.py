"""The delivery worker: claim due messages from the outbox, send them through their channel, settle them.

Woken by NOTIFY (a dedicated LISTEN connection), by its own timer for retries, and by the scheduler's sweep.
Sending happens outside any database transaction; the webhook never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from prometheus_client import Counter, Gauge

from store import deliveries
from store.db import Database
from store.domain.delivery import ANNOUNCE, RetryPolicy
from store.events import EventListener
from store.models import Delivery, Event, Incident

log = logging.getLogger(__name__)

PENDING = Gauge("tocsin_deliveries_pending", "Messages waiting to be sent (or being sent)", ["channel"])
FAILED = Gauge("tocsin_deliveries_failed", "Messages given up after DELIVERY_GIVE_UP", ["channel"])
ATTEMPTS = Counter("tocsin_delivery_attempts_total", "Send attempts by outcome", ["channel", "outcome"])


@dataclass(frozen=True, slots=True)
class SendResult:
    """What became of one send. retry_after: the channel asked to wait (HTTP 429 and the like)."""

    ok: bool
    retry_after: float | None = None
    external_ref: str | None = None  # open: the message's id (email Message-ID, Slack ts, Telegram id)
    error: str | None = None


class ServiceError(Exception):
    """A chat service refused a call or could not be reached; retry_after when it asked to wait (HTTP 429)."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    def result(self) -> SendResult:
        """The failed send as the outbox records it (a 429 waits as long as the service asked)."""
        return SendResult(False, retry_after=self.retry_after, error=str(self)[:500])


class RateLimits:
    """Until when a chat service asked to wait, per route and for all of them ("global"), so that a channel
    holds its sends back (answering retry_after) instead of calling a service that would refuse them."""

    GLOBAL = "global"

    def __init__(self) -> None:
        self.until: dict[str, float] = {}

    def wait(self, route: str) -> float:
        """Seconds still to wait before calling this route (0: go)."""
        now = time.monotonic()
        return max(self.until.get(self.GLOBAL, 0.0) - now, self.until.get(route, 0.0) - now, 0.0)

    def hold(self, route: str, seconds: float) -> None:
        """Wait `seconds` before calling this route (or every route, for GLOBAL) again."""
        self.until[route] = max(self.until.get(route, 0.0), time.monotonic() + seconds)


class Channel(Protocol):
    """A way to reach people. `send` posts (kind "open") or edits/replies to (kind "update") the message.

    For an update, `delivery.external_ref` is the reference the open's send returned. `recent_events`
    are the incident's latest timeline entries, oldest first; those from `delivery.first_event_id` to
    `delivery.event_id` are the changes this message reports.
    """

    name: str

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult: ...


@runtime_checkable
class Announcer(Protocol):
    """A channel that can also post a message of its own, not about an incident (handoff announcements)."""

    async def announce(self, delivery: Delivery, text: str) -> SendResult: ...


class ChannelFamily(Protocol):
    """Channels whose names follow the config as it is now (one per outgoing webhook): asked on every pass."""

    def names(self) -> Iterable[str]: ...

    def get(self, name: str) -> Channel | None: ...


class ChannelRegistry:
    """The channels the composition root turned on, by name, and families of channels."""

    def __init__(self, channels: Iterable[Channel] = (), families: Iterable[ChannelFamily] = ()) -> None:
        self._channels: dict[str, Channel] = {}
        self._families = list(families)
        for channel in channels:
            self.register(channel)

    def register(self, channel: Channel) -> None:
        """Turn a channel on; its name matches the delivery rows' `channel`."""
        if channel.name in self._channels:
            raise ValueError(f"channel {channel.name!r} is registered twice")
        self._channels[channel.name] = channel

    def add_family(self, family: ChannelFamily) -> None:
        """Turn a family of channels on."""
        self._families.append(family)

    def get(self, name: str) -> Channel | None:
        """The channel of this name, if on."""
        found = self._channels.get(name)
        for family in self._families:
            found = found or family.get(name)
        return found

    def names(self) -> list[str]:
        """Names of the channels that are on (a family's as the config is now)."""
        return sorted({*self._channels, *(n for family in self._families for n in family.names())})


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How the worker claims and retries."""

    retry: RetryPolicy = RetryPolicy()
    concurrency: int = 10  # sends in flight per channel (one per stream at a time)
    send_timeout: float = 30.0
    lease: float = 120.0  # a claim outlives a send; a dead worker's claim expires after this
    idle_poll: float = 60.0  # longest sleep without a wake-up
    stop_grace: float = 5.0  # on stop, sends in flight get this long; then their claims wait out the lease


class DeliveryWorker:
    """One worker per process; several processes or replicas share the outbox safely."""

    def __init__(
        self, db: Database, registry: ChannelRegistry, settings: WorkerSettings | None = None, name: str = ""
    ) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings or WorkerSettings()
        self.name = name or f"worker-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[str, set[asyncio.Task[None]]] = {}  # sends in flight, per channel
        self._claims: dict[asyncio.Task[None], Delivery] = {}  # what each send in flight has claimed
        self._published: set[str] = set()
        self._listener = EventListener(db.dsn, lambda _payload: self.wake(), self.wake)

    def wake(self) -> None:
        """Look for due messages now."""
        self._wake.set()

    async def start(self) -> None:
        """Listen for NOTIFY and start the loop."""
        self._listener.start()
        self._task = asyncio.create_task(self._loop(), name=f"tocsin-delivery-{self.name}")
        self.wake()

    async def stop(self) -> None:
        """Stop listening; sends in flight get stop_grace to finish and be recorded, else are abandoned and their
        claims given back, so that another replica sends them at once rather than after the lease."""
        await self._listener.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        tasks = [t for running in self._inflight.values() for t in running]
        if not tasks:
            return
        _done, late = await asyncio.wait(tasks, timeout=self.settings.stop_grace)
        abandoned = [self._claims[t] for t in late if t in self._claims]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        try:
            released = await deliveries.release(self.db, abandoned)
        except Exception:  # the database is away: the claims expire after the lease instead
            log.exception("could not give back %d claimed deliveries; they are retried after the lease", len(abandoned))
            return
        if released:
            log.info("gave back %d claimed deliveries still sending at shutdown", released)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                if await self.claim_and_start():
                    continue  # more may be due at once
                timeout = await deliveries.seconds_until_due(self.db, self.registry.names())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery pass failed; trying again shortly")
                timeout = 5.0
            timeout = self.settings.idle_poll if timeout is None else min(max(timeout, 0.01), self.settings.idle_poll)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns normally when the event is set at the
            # moment the task is cancelled (a send finishing during stop() sets it), and the loop went on forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def claim_and_start(self) -> int:
        """Claim due messages for each channel's free send slots and start sending them; how many were claimed.

        Each channel has its own slots, so a slow or hanging SMTP server never holds up Slack or Telegram.
        """
        claimed = 0
        for name in self.registry.names():
            running = self._inflight.setdefault(name, set())
            free = self.settings.concurrency - len(running)
            if free <= 0:
                continue
            for delivery in await deliveries.claim(self.db, [name], free, self.settings.lease):
                task = asyncio.create_task(self._deliver(delivery), name=f"tocsin-delivery-{delivery.id}")
                running.add(task)
                self._claims[task] = delivery
                task.add_done_callback(self._finished)
                claimed += 1
        return claimed

    def _finished(self, task: asyncio.Task[None]) -> None:
        for running in self._inflight.values():
            running.discard(task)
        self._claims.pop(task, None)
        self.wake()  # a free slot, and perhaps an update that waited for this open

    async def _deliver(self, delivery: Delivery) -> None:
        channel = self.registry.get(delivery.channel)
        if channel is None:  # cannot happen: only registered channels are claimed
            return
        try:
            result = await asyncio.wait_for(self._send(channel, delivery), self.settings.send_timeout)
        except TimeoutError:
            result = SendResult(False, error=f"no answer within {self.settings.send_timeout:g}s")
        except Exception as exc:  # a channel bug must not stop the other deliveries
            log.exception("channel %s raised while sending delivery %s", delivery.channel, delivery.id)
            result = SendResult(False, error=f"{type(exc).__name__}: {exc}"[:500])
        await self._record(delivery, result)

    async def _record(self, delivery: Delivery, result: SendResult) -> None:
        """Settle the delivery, retrying while the database is away: the outcome is known only here, and a claim
        left to expire would send a message already sent again (or hold a failed one back for the whole lease)."""
        deadline = time.monotonic() + self.settings.lease * 0.8
        delay = 0.5
        while True:
            try:
                await self._settle(delivery, result)
                return
            except Exception as exc:
                if time.monotonic() + delay > deadline:
                    log.exception("could not record the outcome of delivery %s; it is retried after its lease",
                                  delivery.id)
                    return
                log.warning("could not record the outcome of delivery %s (%s); trying again in %.1fs",
                            delivery.id, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _send(self, channel: Channel, delivery: Delivery) -> SendResult:
        if delivery.kind == ANNOUNCE:
            if not isinstance(channel, Announcer):
                return SendResult(False, error=f"the {channel.name} channel cannot post announcements")
            return await channel.announce(delivery, await deliveries.load_announcement(self.db, delivery))
        incident, events = await deliveries.load_for_send(self.db, delivery)
        return await channel.send(delivery, incident, events)

    async def _settle(self, delivery: Delivery, result: SendResult) -> None:
        if result.ok:
            await deliveries.mark_sent(self.db, delivery, result.external_ref)
            ATTEMPTS.labels(delivery.channel, "sent").inc()
            return
        error = (result.error or "failed")[:1000]
        state = await deliveries.mark_retry(self.db, delivery, error, self.settings.retry, result.retry_after)
        ATTEMPTS.labels(delivery.channel, "failed" if state == "failed" else "retry").inc()
        level = logging.ERROR if state == "failed" else logging.WARNING
        log.log(
            level,
            "%s delivery %s for %s: %s (%s)",
            delivery.channel,
            delivery.id,
            f"incident #{delivery.incident_id}" if delivery.incident_id else f"announcement {delivery.announcement_id}",
            error,
            "given up" if state == "failed" else f"attempt {delivery.attempts}",
        )

    def publish_counts(self, counts: dict[str, dict[str, int]]) -> None:
        """Set the /metrics gauges from the outbox counts (zero for a channel with nothing waiting)."""
        self._published |= set(counts) | set(self.registry.names())
        for channel in self._published:
            states = counts.get(channel, {})
            PENDING.labels(channel).set(states.get("pending", 0) + states.get("sending", 0))
            FAILED.labels(channel).set(states.get("failed", 0))
