"""Acknowledgements that lapse and remind: the scheduler's service (store/domain/acks.py has the rules).

An acknowledgement (or snooze, or reassignment) writes a timer row due at once; the first claim plans it
from the config (the route's ack_timeout and remind_every, else its policy's), later claims lapse or
remind. Each claim locks the timer row and its incident with FOR UPDATE SKIP LOCKED in the transaction
that writes the timeline entry, so each lapse and reminder happens once across replicas and restarts;
what is due is acted on once however long the scheduler was away.
"""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg

from store.db import Database
from store.domain import acks
from store.domain.config_schema import Config
from store.domain.incident import ActionSource
from store.lifecycle import ActionResult, announce
from store.models import Event, NewEvent
from store.sql import acks as acks_sql
from store.sql import escalations as escalations_sql
from store.sql import incidents as incidents_sql
from store.sql.acks import AckRow
from store.timeline import EventKind, record

log = logging.getLogger(__name__)
ACTOR = "scheduler"
SOURCE = ActionSource.SCHEDULER.value
MAX_PER_CALL = 500


async def timers_due(db: Database, config: Config, now: datetime) -> list[Event]:
    """Lapse or remind every acknowledgement due at `now`, each in its own transaction; the entries written."""
    written: list[Event] = []
    for _ in range(MAX_PER_CALL):
        async with db.transaction() as conn:
            row = await acks_sql.claim_due(conn, now)
            if row is None:
                return written
            events, result = await _act(conn, config, row, now)
        written += events
        if result is not None:
            announce(result)
    log.warning("acknowledgement backlog: %d acted on in one call, the rest wait for the next run", len(written))
    return written


def _rules(config: Config, row: AckRow) -> acks.AckRules:
    route = config.routes.by_id(row.route_id)
    return acks.rules_for(route, config.policy(route.escalation) if route.escalation else None)


def _name(config: Config, user_id: str | None) -> str | None:
    user = config.user(user_id) if user_id else None
    return user.name if user else user_id


async def _act(
    conn: asyncpg.Connection, config: Config, row: AckRow, now: datetime
) -> tuple[list[Event], ActionResult | None]:
    """Do what is due for one claimed row; always leave the row planned, rescheduled or gone."""
    incident_id = row.incident_id
    if not row.current:  # resolved, unacknowledged or acknowledged again since: these timers are stale
        await acks_sql.drop(conn, incident_id)
        return [], None
    rules = _rules(config, row)
    timers = acks.AckTimers(row.lapses_at, row.next_reminder_at)
    if not row.planned:
        timers = acks.plan(row.acknowledged_at, rules, row.snoozed_until)
    action = acks.due(timers, now)
    if action == acks.LAPSE:
        incident = await incidents_sql.retrigger(conn, incident_id, now)
        await escalations_sql.restart(conn, incident_id, now)
        await acks_sql.drop(conn, incident_id)
        message = acks.lapse_message(_name(config, row.acknowledged_by), row.acknowledged_at, now,
                                     row.snoozed_until is not None)
        data = {"acknowledged_by": row.acknowledged_by, "snoozed": row.snoozed_until is not None}
        events = await record(conn, [NewEvent(incident_id, EventKind.ACK_LAPSED, ACTOR, SOURCE, message, data)])
        return events, ActionResult("lapse", incident, events)
    events: list[Event] = []
    if action == acks.REMIND:
        message = acks.reminder_message(_name(config, row.acknowledged_by), row.acknowledged_at, now)
        events = await record(conn, [NewEvent(incident_id, EventKind.REMINDER, ACTOR, SOURCE, message,
                                              {"acknowledged_by": row.acknowledged_by})])
        timers = acks.after_reminder(timers, now, rules.remind_every)
    if timers.due_at is None:
        await acks_sql.drop(conn, incident_id)
    else:
        await acks_sql.plan(conn, incident_id, timers.lapses_at, timers.next_reminder_at, timers.due_at, now)
    return events, None
