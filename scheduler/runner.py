"""The APScheduler 3 AsyncIOScheduler running the jobs on every replica (the database makes them safe)."""

from __future__ import annotations

import asyncio
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.jobs import escalate_job, handoff_job
from store.runtime import Runtime

INTERVAL_SECONDS = 5.0


def create_scheduler(runtime: Runtime, interval: float = INTERVAL_SECONDS) -> AsyncIOScheduler:
    """A scheduler (not started) with the escalation and handoff jobs every `interval` seconds."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(escalate_job, "interval", seconds=interval, args=[runtime], id="escalate", **options)
    scheduler.add_job(handoff_job, "interval", seconds=interval, args=[runtime], id="handoffs", **options)
    return scheduler


def start(runtime: Runtime, interval: float = INTERVAL_SECONDS) -> AsyncIOScheduler:
    """Create and start the scheduler on the running event loop."""
    scheduler = create_scheduler(runtime, interval)
    scheduler.start()
    return scheduler


async def stop(scheduler: AsyncIOScheduler) -> None:
    """Stop the scheduler (a run in progress is not waited for: its transaction is safe to abandon)."""
    if scheduler.running:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler.shutdown is scheduled on the loop: let it run
