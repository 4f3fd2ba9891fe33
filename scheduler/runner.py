"""The APScheduler AsyncIOScheduler: periodic jobs run on the server's event loop."""

from __future__ import annotations

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


def create_scheduler() -> AsyncIOScheduler:
    """A scheduler bound to the running event loop (UTC; overlapping runs of one job are coalesced)."""
    return AsyncIOScheduler(
        event_loop=asyncio.get_running_loop(),
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )


def stop_scheduler(scheduler: AsyncIOScheduler) -> None:
    """Stop firing jobs (a job already running finishes on its own)."""
    if scheduler.running:
        scheduler.shutdown(wait=False)
