"""The scheduler's thin jobs with an injected clock, and the runner's job options."""

from __future__ import annotations

from datetime import timedelta

from scheduler import runner
from scheduler.jobs import escalate_job, handoff_job
from scheduler.runner import add_escalation_jobs, create_scheduler
from store.db import Database, create_database
from store.ingest import ingest_batch
from store.runtime import Runtime
from store.settings import DatabaseSettings
from tests.conftest import load_sample
from tests.support.escalation import T0, Clock, make_config
from webhook.alertmanager import parse_webhook


async def test_jobs_use_the_runtime_clock(db: Database) -> None:
    clock = Clock()
    runtime = Runtime(db=db, config=make_config(), clock=clock)
    await ingest_batch(db, parse_webhook(load_sample("05_firing_from_prometheus.json")), runtime.routes, clock)
    assert await escalate_job(runtime) == 1
    assert await escalate_job(runtime) == 0
    clock.now = T0 + timedelta(minutes=15)
    assert await escalate_job(runtime) == 1
    clock.now = T0.replace(hour=8, minute=0, second=1) + timedelta(days=1)  # Friday's 09:00 Berlin handoff
    assert await handoff_job(runtime) == 1
    assert await handoff_job(runtime) == 0


async def test_jobs_survive_an_unreachable_database(database_url: str) -> None:
    closed = await create_database(database_url, DatabaseSettings(url=database_url))
    await closed.close()
    runtime = Runtime(db=closed, config=make_config(), clock=Clock())
    assert await escalate_job(runtime) == 0
    assert await handoff_job(runtime) == 0


async def test_runner_runs_each_job_alone_and_coalesces_missed_runs(db: Database) -> None:
    scheduler = create_scheduler()
    add_escalation_jobs(scheduler, Runtime(db=db, config=make_config()), interval=5)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"escalate", "handoffs"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True
    assert jobs["handoffs"].trigger.interval == timedelta(seconds=5)
    assert jobs["escalate"].trigger.interval == timedelta(seconds=1)  # a due step fires within a second


async def test_runner_starts_and_stops_on_the_running_loop(db: Database) -> None:
    scheduler = runner.start(Runtime(db=db, config=make_config()), interval=3600)
    assert scheduler.running
    await runner.stop(scheduler)
    assert not scheduler.running
