"""Composition of the delivery pipeline: channels turned on by the settings, the worker and the sweep job."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery import Channel, ChannelRegistry, DeliveryWorker, WorkerSettings
from bot.email.client import EmailChannel
from scheduler import jobs
from scheduler.runner import create_scheduler, stop_scheduler
from store.db import Database, create_database
from web.settings import Settings

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30
WORKER_CONNS = 4  # the worker and its sweep, escalation steps and handoffs (the LISTEN has its own)


@dataclass(slots=True)
class DeliveryService:
    """The running worker and scheduler, to stop together."""

    worker: DeliveryWorker
    scheduler: AsyncIOScheduler
    pool: Database

    async def stop(self) -> None:
        """Stop the sweep, then the worker (a send in flight finishes and is recorded), then its pool."""
        stop_scheduler(self.scheduler)
        await self.worker.stop()
        await self.pool.close()


def build_registry(
    settings: Settings, chat_channels: Iterable[Channel] = (), names: Mapping[str, str] | None = None
) -> ChannelRegistry:
    """The channels the settings turn on: email, and the chat bots' channels (Slack, Telegram) when on;
    `names` are the config users' names by id, for mails."""
    registry = ChannelRegistry(chat_channels)
    if settings.email is not None:
        registry.register(EmailChannel(settings.email, names=names))
    return registry


async def start_delivery(settings: Settings, db: Database, registry: ChannelRegistry | None = None) -> DeliveryService:
    """Start the worker (LISTEN + its loop) and the scheduler with the periodic sweep."""
    registry = registry or build_registry(settings)
    # Its own few connections: a webhook burst holding the main pool must not hold up deliveries (nor the reverse).
    pool = await create_database(db.dsn, replace(settings.database, max_open_conns=WORKER_CONNS, max_idle_conns=1))
    worker = DeliveryWorker(pool, registry, WorkerSettings(retry=settings.delivery, lease=settings.delivery_lease))
    await worker.start()
    scheduler = create_scheduler()
    scheduler.add_job(
        jobs.sweep_deliveries,
        "interval",
        seconds=SWEEP_SECONDS,
        kwargs={"db": pool, "policy": settings.delivery, "wake": worker.wake, "report": worker.publish_counts},
        id="sweep_deliveries",
    )
    scheduler.start()
    log.info("delivery worker started; channels on: %s", ", ".join(registry.names()) or "none")
    return DeliveryService(worker, scheduler, pool)
