"""Thin scheduler jobs: each calls store services, with what the composition root hands in."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sized

from store import deliveries, heartbeats, maintenance
from store.ack_timers import timers_due
from store.db import Database
from store.domain.delivery import RetryPolicy
from store.escalation import announce_handoffs, escalate_due
from store.flapping import settle_due
from store.page_actions import forget_expired_links
from store.paging import notify_due
from store.runtime import UNAVAILABLE, Runtime
from store.sla import record_breaches

log = logging.getLogger(__name__)


async def _counted(what: str, run: Callable[[], Awaitable[Sized | int]]) -> int:
    """How many things one run did; 0, with a warning, when the database is unavailable (the next run retries)."""
    try:
        done = await run()
        return done if isinstance(done, int) else len(done)
    except UNAVAILABLE as exc:
        log.warning("%s run skipped: the database is unavailable (%s)", what, type(exc).__name__)
        return 0


async def escalate_job(runtime: Runtime) -> int:
    """Fire the escalation steps, then the people's notification rules, that are due now (so a rule at 0m fires
    in the same run as the step that paged); returns how many fired."""

    async def fire() -> list[object]:
        fired = await escalate_due(runtime.jobs_db, runtime.config, runtime.clock())
        return [*fired, *await notify_due(runtime.jobs_db, runtime.config, runtime.clock())]

    return await _counted("escalation", fire)


async def forget_links_job(runtime: Runtime) -> int:
    """Drop the records of expired one-tap links; returns how many."""
    return await _counted("link clean-up", lambda: forget_expired_links(runtime.db))


async def handoff_job(runtime: Runtime) -> int:
    """Announce the handoffs that just happened; returns how many were announced by this replica."""
    return await _counted("handoff", lambda: announce_handoffs(runtime.jobs_db, runtime.config, runtime.clock()))


async def sla_job(runtime: Runtime) -> int:
    """Record the SLA breaches that are due now; returns how many this replica recorded."""
    return await _counted("SLA", lambda: record_breaches(runtime.jobs_db, runtime.config, runtime.clock()))


async def sweep_deliveries(
    db: Database,
    policy: RetryPolicy,
    wake: Callable[[], None],
    report: Callable[[dict[str, dict[str, int]]], None],
) -> None:
    """Give up overdue messages, publish the outbox counts, and wake the worker in case a NOTIFY was missed."""
    failed = await deliveries.give_up_overdue(db, policy)
    if failed:
        log.warning("%d message(s) not delivered within DELIVERY_GIVE_UP were marked failed", failed)
    report(await deliveries.counts(db))
    wake()


async def ack_timers_job(runtime: Runtime) -> int:
    """Lapse the acknowledgements and post the reminders due now; returns the timeline entries written."""
    return await _counted("acknowledgement timers",
                          lambda: timers_due(runtime.jobs_db, runtime.config, runtime.clock()))


async def maintenance_job(runtime: Runtime) -> int:
    """Release the incidents whose maintenance window ended (paging those that still fire), and make the
    Alertmanager silences of config windows that ask for one; returns the incidents released."""
    try:
        now = runtime.clock()
        released = await maintenance.release_ended(runtime.jobs_db, runtime.config, now)
        await maintenance.make_silences(runtime.jobs_db, runtime.config, runtime.silencer, now)
        return len(released)
    except UNAVAILABLE as exc:
        log.warning("maintenance run skipped: the database is unavailable (%s)", type(exc).__name__)
        return 0


async def flapping_job(runtime: Runtime) -> int:
    """Settle the groups that stopped flapping (paging those that still fire); returns how many incidents."""
    return await _counted("flapping", lambda: settle_due(runtime.jobs_db, runtime.config, runtime.clock()))


async def heartbeat_job(runtime: Runtime) -> int:
    """Fire the missing alert of each heartbeat silent past its timeout; returns how many went down."""
    return await _counted("heartbeat",
                          lambda: heartbeats.check_due(runtime.jobs_db, runtime.config, runtime.clock()))
