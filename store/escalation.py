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
from datetime import datetime, timedelta

import asyncpg

from store import deliveries, paging
from store.claims import fire_each
from store.db import Database
from store.domain.config_schema import Config
from store.domain.escalation import next_step, resumed_trigger, step_number, total_steps
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
    """Stop the incident's escalation and its people's notification rules; call inside the acknowledge or resolve
    transaction. True if an escalation ran."""
    await paging.stop(conn, incident_id)
    return await escalations_sql.stop(conn, incident_id)


async def hurry_next_step(conn: asyncpg.Connection, config: Config, incident_id: int, now: datetime) -> bool:
    """Make the incident's next escalation step due now (its incident row locked by the caller); False when no
    step is left to fire."""
    escalation = await escalations_sql.get(conn, incident_id)
    policy = config.policy(escalation.policy_id) if escalation and escalation.state == "active" else None
    upcoming = next_step(policy, escalation.triggered_at, escalation.fired_count) if policy and escalation else None
    if escalation is None or upcoming is None:
        return False
    early = max(upcoming[2] - now, timedelta(0))
    await escalations_sql.hurry(conn, incident_id, escalation.triggered_at - early, now)
    return True


def changed_policies(old: Config, new: Config) -> list[str]:
    """Ids of policies that the new config changes or removes."""
    return sorted({p.id for p in old.policies if new.policy(p.id) != p})


async def replan(db: Database, old: Config, new: Config, now: datetime) -> int:
    """After a config change: escalations in flight of changed policies are planned again at their next step.

    The rule (docs/configuration.md): steps already fired stay fired; the next step is the new policy's step
    at that position, due at the trigger time plus its delay (at once if that has passed); a removed policy
    stops the escalation when next claimed.
    """
    policies = changed_policies(old, new)
    if not policies:
        return 0
    async with db.transaction() as conn:
        return await escalations_sql.replan(conn, policies, now)


async def escalate_due(db: Database, config: Config, now: datetime) -> list[Event]:
    """Fire every step due at `now`, each in its own transaction; returns the timeline entries written."""
    return await fire_each(db, lambda conn: escalations_sql.claim_due(conn, now),
                           lambda conn, escalation: _fire(conn, config, escalation, now), MAX_STEPS_PER_CALL,
                           "escalation")


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
        await escalations_sql.retime(conn, incident_id, triggered_at)
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
    await paging.start(conn, incident_id, [t["id"] for t in targets if t["kind"] == "user" and t.get("rules")], now)
    following = next_step(policy, escalation.triggered_at, index + 1)
    await escalations_sql.advance(conn, incident_id, index + 1, following[2] if following else None, now)
    return event


async def escalate_now(
    conn: asyncpg.Connection, config: Config, incident_id: int, policy_id: str | None, reason: str, now: datetime
) -> Event | None:
    """Page the incident's next escalation step at once (its last step again once all have fired), for `reason`.

    Call inside a transaction that holds the incident's row lock. The policy is the running escalation's,
    else `policy_id`; None (and nothing paged) when neither names a policy in the config.
    """
    state = await escalations_sql.get(conn, incident_id)
    policy = config.policy(state.policy_id if state else policy_id or "")
    if policy is None:
        log.warning("incident %d: %s, but there is no escalation policy to page", incident_id, reason)
        return None
    fired = state.fired_count if state else 0
    index = min(fired, total_steps(policy) - 1)
    step = policy.steps[index % len(policy.steps)]
    targets = resolve_targets(config, step.notify, now)
    number, passes = step_number(policy, index), index // len(policy.steps) + 1
    data = {"step": number, "pass": passes, "policy": policy.id, "targets": targets, "reason": reason}
    message = f"{step_message(number, passes, targets)} ({reason})"
    (event,) = await record(conn, [NewEvent(incident_id, EventKind.ESCALATED, ACTOR, SOURCE, message, data)])
    if state is not None and state.state == "active" and fired < total_steps(policy):
        following = next_step(policy, state.triggered_at, fired + 1)
        await escalations_sql.advance(conn, incident_id, fired + 1, following[2] if following else None, now)
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
