"""The actions around an acknowledgement, called by every channel: unacknowledge, reassign, escalate now, snooze.

Each is one transaction that locks the incident, checks its state (a Conflict worded as lifecycle's),
changes it, records the timeline entry (from which every channel hears of it) and, where it restarts or
fires escalation, does so in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from store.db import Database
from store.domain.config_fields import format_span
from store.domain.config_schema import Config
from store.domain.escalation import next_step, step_number
from store.domain.incident import ActionSource, Status
from store.domain.paging import resolve_targets, step_message, user_target
from store.domain.silence import check_seconds
from store.errors import Conflict, Invalid
from store.lifecycle import ActionResult, announce, conflict
from store.models import Incident, NewEvent
from store.sql import acks as acks_sql
from store.sql import escalations as escalations_sql
from store.sql import incidents as incidents_sql
from store.timeline import EventKind, record


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _lock(conn: asyncpg.Connection, incident_id: int, action: str, allowed: tuple[Status, ...]) -> Incident:
    """The incident locked; a Conflict naming its state unless its status is one of `allowed`."""
    incident = await incidents_sql.get(conn, incident_id, for_update=True)
    if incident.status not in allowed:
        raise conflict(incident, action)
    return incident


async def unacknowledge(
    db: Database, incident_id: int, actor: str, source: ActionSource, *, now: datetime | None = None
) -> ActionResult:
    """Back to triggered; escalation starts again from its first step. Conflict unless acknowledged."""
    when = _now(now)
    async with db.transaction(stateless=True) as conn:
        before = await _lock(conn, incident_id, "unacknowledge", (Status.ACKNOWLEDGED,))
        incident = await incidents_sql.retrigger(conn, incident_id, when)
        await escalations_sql.restart(conn, incident_id, when)
        await acks_sql.drop(conn, incident_id)
        message = f"Unacknowledged by {actor} (was acknowledged by {before.acknowledged_by or 'unknown'}): " \
                  "triggered again"
        events = await record(conn, [NewEvent(incident_id, EventKind.UNACKNOWLEDGED, actor, source.value, message)])
    return announce(ActionResult("unacknowledge", incident, events))


async def reassign(
    db: Database, config: Config, incident_id: int, to: str, actor: str, source: ActionSource, *,
    now: datetime | None = None,
) -> ActionResult:
    """Acknowledged by `to` (a config user, who is told through their contacts); Conflict when resolved."""
    user = config.user(to)
    if user is None:
        raise Invalid("to", f"unknown user {to[:80]!r}; expected the id of one of the config's users")
    when = _now(now)
    async with db.transaction(stateless=True) as conn:
        before = await _lock(conn, incident_id, "reassign", (Status.TRIGGERED, Status.ACKNOWLEDGED))
        if before.status is Status.ACKNOWLEDGED and before.acknowledged_by == user.id:
            raise Conflict(f"cannot reassign #{incident_id}: it is already acknowledged by {user.id}",
                           [{"field": "to", "message": "already the assignee"}])
        incident = await incidents_sql.set_status(conn, incident_id, Status.ACKNOWLEDGED.value, user.id, when)
        await escalations_sql.stop(conn, incident_id)
        await acks_sql.begin(conn, incident_id, when)
        was = f" (was {before.acknowledged_by})" if before.acknowledged_by else ""
        message = f"Reassigned to {user.name} by {actor}{was}"
        data = {"assignee": user.id, "previous": before.acknowledged_by, "targets": [user_target(user)]}
        events = await record(conn, [NewEvent(incident_id, EventKind.REASSIGNED, actor, source.value, message, data)])
    return announce(ActionResult("reassign", incident, events))


async def snooze(
    db: Database, incident_id: int, seconds: float, actor: str, source: ActionSource, *, now: datetime | None = None
) -> ActionResult:
    """Acknowledged until now + `seconds` (1m to 30d), then triggered again; Conflict when resolved."""
    try:
        seconds = check_seconds(seconds)
    except ValueError as exc:
        raise Invalid("duration", str(exc)) from None
    when = _now(now)
    until = when + timedelta(seconds=seconds)
    async with db.transaction(stateless=True) as conn:
        before = await _lock(conn, incident_id, "snooze", (Status.TRIGGERED, Status.ACKNOWLEDGED))
        incident = before
        if before.status is Status.TRIGGERED:
            incident = await incidents_sql.set_status(conn, incident_id, Status.ACKNOWLEDGED.value, actor, when)
            await escalations_sql.stop(conn, incident_id)
        else:
            await incidents_sql.touch(conn, incident_id, when)
        await acks_sql.begin(conn, incident_id, incident.acknowledged_at or when, snoozed_until=until)
        message = f"Snoozed for {format_span(until - when)} by {actor}: triggered again at {_stamp(until)}"
        data = {"until": until.isoformat(), "duration": format_span(until - when)}
        events = await record(conn, [NewEvent(incident_id, EventKind.SNOOZED, actor, source.value, message, data)])
    return announce(ActionResult("snooze", incident, events))


async def escalate(
    db: Database, config: Config, incident_id: int, actor: str, source: ActionSource, *, now: datetime | None = None
) -> ActionResult:
    """Fire the escalation's next step at once (an acknowledged incident is triggered again first).

    Conflict when resolved, when its route has no escalation policy, or when every step has fired.
    """
    when = _now(now)
    async with db.transaction(stateless=True) as conn:
        incident = await _lock(conn, incident_id, "escalate", (Status.TRIGGERED, Status.ACKNOWLEDGED))
        escalation = await escalations_sql.lock(conn, incident_id)
        policy = config.policy(escalation.policy_id) if escalation is not None else None
        if escalation is None or policy is None:
            raise Conflict(f"cannot escalate #{incident_id}: its route has no escalation policy",
                           code="no_escalation")
        upcoming = next_step(policy, escalation.triggered_at, escalation.fired_count)
        if upcoming is None:
            raise Conflict(f"cannot escalate #{incident_id}: every step of policy {policy.id} has fired",
                           code="escalation_done")
        if incident.status is Status.ACKNOWLEDGED:
            incident = await incidents_sql.retrigger(conn, incident_id, when)
            await acks_sql.drop(conn, incident_id)
        index, step, _ = upcoming
        targets = resolve_targets(config, step.notify, when)
        number, passes = step_number(policy, index), index // len(policy.steps) + 1
        data = {"step": number, "pass": passes, "policy": policy.id, "targets": targets, "now": True}
        event = NewEvent(incident_id, EventKind.ESCALATED, actor, source.value,
                         step_message(number, passes, targets), data)
        events = await record(conn, [event])
        following = next_step(policy, escalation.triggered_at, index + 1)
        await escalations_sql.advance(conn, incident_id, index + 1, following[2] if following else None, when)
        if following is not None:  # stopped by the acknowledgement: it runs on after a step fired by hand
            await escalations_sql.activate(conn, incident_id, when)
    return announce(ActionResult("escalate", incident, events))

