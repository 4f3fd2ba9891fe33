"""The delivery worker: claim due messages from the outbox, send them through their channel, settle them.

Woken by NOTIFY (a dedicated LISTEN connection), by its own timer for retries, and by the scheduler's sweep.
Sending happens outside any database transaction; the webhook never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import Counter, Gauge

from store import deliveries
from store.db import Database
from store.domain.delivery import RetryPolicy
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


class Channel(Protocol):
    """A way to reach people. `send` posts (kind "open") or edits/replies to (kind "update") the message.

    For an update, `delivery.external_ref` is the reference the open's send returned. `recent_events`
    are the incident's latest timeline entries, oldest first; those from `delivery.first_event_id` to
    `delivery.event_id` are the changes this message reports.
    """

    name: str

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult: ...


class ChannelRegistry:
    """The channels the composition root turned on, by name."""

    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._channels: dict[str, Channel] = {}
        for channel in channels:
            self.register(channel)

    def register(self, channel: Channel) -> None:
        """Turn a channel on; its name matches the delivery rows' `channel`."""
        if channel.name in self._channels:
            raise ValueError(f"channel {channel.name!r} is registered twice")
        self._channels[channel.name] = channel

    def get(self, name: str) -> Channel | None:
        """The channel of this name, if on."""
        return self._channels.get(name)

    def names(self) -> list[str]:
        """Names of the channels that are on."""
        return sorted(self._channels)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How the worker claims and retries."""

    retry: RetryPolicy = RetryPolicy()
    batch: int = 20  # messages claimed at once (sent concurrently, one per stream)
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
        self._inflight: asyncio.Future[list[None]] | None = None
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
        """Stop listening; sends in flight get stop_grace to finish and be recorded, else are abandoned."""
        await self._listener.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._inflight, self.settings.stop_grace)
            self._inflight = None

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.run_once():
                    pass
                timeout = await deliveries.seconds_until_due(self.db, self.registry.names())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery pass failed; trying again shortly")
                timeout = 5.0
            timeout = self.settings.idle_poll if timeout is None else min(max(timeout, 0.01), self.settings.idle_poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def run_once(self) -> int:
        """Claim one batch of due messages and send them; returns how many were claimed."""
        claimed = await deliveries.claim(self.db, self.registry.names(), self.settings.batch, self.settings.lease)
        if claimed:
            # Shielded: a stop while sending lets the sends finish and be recorded (stop waits for them).
            self._inflight = asyncio.gather(*(self._deliver(d) for d in claimed))
            await asyncio.shield(self._inflight)
            self._inflight = None
        return len(claimed)

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
        await self._settle(delivery, result)

    async def _send(self, channel: Channel, delivery: Delivery) -> SendResult:
        incident, events = await deliveries.load_for_send(self.db, delivery)
        return await channel.send(delivery, incident, events)

    async def _settle(self, delivery: Delivery, result: SendResult) -> None:
        if result.ok:
            ATTEMPTS.labels(delivery.channel, "sent").inc()
            await deliveries.mark_sent(self.db, delivery, result.external_ref)
            return
        error = (result.error or "failed")[:1000]
        state = await deliveries.mark_retry(self.db, delivery, error, self.settings.retry, result.retry_after)
        ATTEMPTS.labels(delivery.channel, "failed" if state == "failed" else "retry").inc()
        level = logging.ERROR if state == "failed" else logging.WARNING
        log.log(
            level,
            "%s delivery %s for incident #%s: %s (%s)",
            delivery.channel,
            delivery.id,
            delivery.incident_id,
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
