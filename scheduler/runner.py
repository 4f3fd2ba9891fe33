"""The APScheduler 3 AsyncIOScheduler running periodic jobs on every replica (the database makes them safe)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.jobs import (
    ack_timers_job,
    escalate_job,
    flapping_job,
    forget_links_job,
    handoff_job,
    heartbeat_job,
    maintenance_job,
    sla_job,
)
from store.runtime import Runtime

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 5.0  # handoff announcements
ESCALATION_SECONDS = 1.0  # escalation steps: a step due now fires within a second (one indexed query when none is due)


def create_scheduler() -> AsyncIOScheduler:
    """A scheduler bound to the running event loop (UTC; overlapping runs of one job are coalesced)."""
    return AsyncIOScheduler(
        event_loop=asyncio.get_running_loop(),
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )


def add_escalation_jobs(scheduler: AsyncIOScheduler, runtime: Runtime, interval: float = INTERVAL_SECONDS) -> None:
    """Escalation steps with notification rules every second (or `interval`, when shorter); handoff announcements
    and SLA breaches every `interval`; the clean-up of expired one-tap links hourly."""
    options = {"max_instances": 1, "coalesce": True}
    every = min(interval, ESCALATION_SECONDS)
    scheduler.add_job(escalate_job, "interval", seconds=every, args=[runtime], id="escalate", **options)
    # A handoff that happened while no replica ran is announced at start, not one interval later.
    scheduler.add_job(
        handoff_job,
        "interval",
        seconds=interval,
        args=[runtime],
        id="handoffs",
        next_run_time=datetime.now(UTC),
        **options,
    )
    scheduler.add_job(sla_job, "interval", seconds=interval, args=[runtime], id="sla", **options)
    scheduler.add_job(forget_links_job, "interval", hours=1, args=[runtime], id="forget_links", **options)


def add_oncall_jobs(scheduler: AsyncIOScheduler, runtime: Runtime, interval: float = ESCALATION_SECONDS) -> None:
    """Missing heartbeats, acknowledgement lapses and reminders, ended maintenance windows and settled flapping
    groups every second (or `interval`): each is one indexed query when nothing is due."""
    options = {"max_instances": 1, "coalesce": True}
    jobs = ((heartbeat_job, "heartbeats"), (ack_timers_job, "ack_timers"), (maintenance_job, "maintenance"),
            (flapping_job, "flapping"))
    for job, name in jobs:
        scheduler.add_job(job, "interval", seconds=interval, args=[runtime], id=name, **options)


def start(runtime: Runtime, interval: float = INTERVAL_SECONDS) -> AsyncIOScheduler:
    """Create a scheduler with the escalation and on-call jobs and start it on the running event loop."""
    scheduler = create_scheduler()
    add_escalation_jobs(scheduler, runtime, interval)
    add_oncall_jobs(scheduler, runtime, min(interval, ESCALATION_SECONDS))
    scheduler.start()
    return scheduler


def stop_scheduler(scheduler: AsyncIOScheduler) -> None:
    """Stop firing jobs (a job already running finishes on its own; its transaction is safe to abandon)."""
    if scheduler.running:
        scheduler.shutdown(wait=False)


async def stop(scheduler: AsyncIOScheduler) -> None:
    """Stop the scheduler and let AsyncIOScheduler's shutdown, scheduled on the loop, run."""
    stop_scheduler(scheduler)
    await asyncio.sleep(0)
