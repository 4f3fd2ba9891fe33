"""The escalation service: start and stop an incident's escalation, fire due steps, announce handoffs.

Each due step is claimed with `FOR UPDATE SKIP LOCKED` on the escalation row and its incident row, in
the same transaction that writes the step's timeline entry (from which the deliveries fan out) and
advances the state. So a step fires once across replicas and restarts, and an acknowledgement, which
locks the incident row, either commits before the claim (the step sees it and sends nothing) or waits
for the step's commit (the step happened before the acknowledgement).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

import asyncpg

from store import deliveries
from store.db import Database
from store.domain.config_schema import Config
from store.domain.escalation import next_step, resumed_trigger, step_number
from store.domain.incident import ActionSource, Status
from store.domain.oncall_view import ANNOUNCE_GRACE, current_shift, handoff_message
from store.domain.paging import resolve_targets, step_message
from store.models import Event, NewEvent
from store.sql import escalations as escalations_sql
from store.sql import events as events_sql
from store.sql.escalations import Escalation, HandoffAnnouncement
from store.timeline import EventKind, record

log = logging.getLogger(__name__)
ACTOR = "scheduler"
SOURCE = ActionSource.SCHEDULER.value
# One call fires at most this many steps, so a large backlog cannot hold a scheduler job forever.
MAX_STEPS_PER_CALL = 500
HANDOFF_KIND = "handoff"


async def start(conn: asyncpg.Connection, incident_id: int, policy_id: str, triggered_at: datetime) -> None:
    """Start (or restart, on reopening) the incident's escalation; call inside the opening transaction."""
    await escalations_sql.start(conn, incident_id, policy_id, triggered_at)


async def stop(conn: asyncpg.Connection, incident_id: int) -> bool:
    """Stop the incident's escalation; call inside the acknowledge or resolve transaction. True if one ran."""
    return await escalations_sql.stop(conn, incident_id)


async def escalate_due(db: Database, config: Config, now: datetime) -> list[Event]:
    """Fire every step due at `now`, each in its own transaction; returns the timeline entries written."""
    fired: list[Event] = []
    for _ in range(MAX_STEPS_PER_CALL):
        async with db.transaction() as conn:
            escalation = await escalations_sql.claim_due(conn, now)
            if escalation is None:
                return fired
            event = await _fire(conn, config, escalation, now)
        if event is not None:
            fired.append(event)
    log.warning("escalation backlog: fired %d steps in one call, the rest wait for the next run", len(fired))
    return fired


async def _fire(conn: asyncpg.Connection, config: Config, escalation: Escalation, now: datetime) -> Event | None:
    """Fire the claimed escalation's next step if it is still wanted and due; always move the row on."""
    incident_id = escalation.incident_id
    if escalation.incident_status is not Status.TRIGGERED:
        await escalations_sql.finish(conn, incident_id, "stopped", now)
        return None
    policy = config.policy(escalation.policy_id)
    if policy is None:
        log.warning("incident %d: escalation policy %r is no longer in the config; stopping its escalation",
                    incident_id, escalation.policy_id)
        await escalations_sql.finish(conn, incident_id, "stopped", now)
        return None
    if escalation.resume_at is not None:  # a reopening: the steps left keep their spacing from the reopening
        triggered_at = resumed_trigger(policy, escalation.fired_count, escalation.resume_at)
        await escalations_sql.replan(conn, incident_id, triggered_at)
        escalation = replace(escalation, triggered_at=triggered_at, resume_at=None)
    upcoming = next_step(policy, escalation.triggered_at, escalation.fired_count)
    if upcoming is None:
        await escalations_sql.finish(conn, incident_id, "done", now)
        return None
    index, step, due_at = upcoming
    if due_at > now:
        # start() does not know the policy, so the first claim sets the real due time (also after a config change).
        await escalations_sql.advance(conn, incident_id, escalation.fired_count, due_at, now)
        return None
    targets = resolve_targets(config, step.notify, now)
    number, passes = step_number(policy, index), index // len(policy.steps) + 1
    data = {"step": number, "pass": passes, "policy": policy.id, "targets": targets}
    (event,) = await record(
        conn, [NewEvent(incident_id, EventKind.ESCALATED, ACTOR, SOURCE, step_message(number, passes, targets), data)]
    )
    following = next_step(policy, escalation.triggered_at, index + 1)
    await escalations_sql.advance(conn, incident_id, index + 1, following[2] if following else None, now)
    return event


async def announce_handoffs(db: Database, config: Config, now: datetime) -> list[HandoffAnnouncement]:
    """Record each recent handoff of a schedule with announce channels, once across replicas; returns the new ones."""
    announced: list[HandoffAnnouncement] = []
    for schedule in config.schedules:
        channels = schedule.announce
        if not channels.targets():
            continue
        shift, real_start, real_end = current_shift(schedule, now)
        if not real_start or now - shift.start > ANNOUNCE_GRACE:
            continue
        message = handoff_message(config, schedule, shift, real_end)
        async with db.transaction() as conn:
            row = await escalations_sql.insert_handoff(
                conn,
                schedule.id,
                shift.start,
                shift.user,
                shift.end if real_end else None,
                channels.slack_channel,
                channels.telegram_chat,
                message,
                now,
            )
            if row is not None:
                await deliveries.enqueue_announcement(conn, row.id, channels.targets())
                await events_sql.notify(conn, [], [HANDOFF_KIND])
        if row is not None:
            announced.append(row)
    return announced
