"""The SLA service: record each breach once across replicas (a timeline entry, optionally an escalation), and
the report of a window of incidents against their targets.

A breach is claimed by the unique key (incident, kind, trigger) in the transaction that writes its timeline
entry, with the incident row locked: an acknowledgement that commits first is seen (no breach), one that
comes later waits for the breach's commit. So two schedulers, or a restart in between, record it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from store import escalation
from store.db import Database
from store.domain.config_schema import Config
from store.domain.incident import SEVERITIES, ActionSource
from store.domain.sla import ESCALATE, Clock, SlaStatus, breach_message, due_at, due_now, status
from store.listeners import Listeners
from store.models import Event, Incident, NewEvent
from store.sql import incidents as incidents_sql
from store.sql import sla as sla_sql
from store.timeline import EventKind, record

log = logging.getLogger(__name__)
A = TypeVar("A")
B = TypeVar("B")
ACTOR = "scheduler"
SOURCE = ActionSource.SCHEDULER.value


@dataclass(frozen=True, slots=True)
class Breach:
    """A breach this call recorded."""

    incident_id: int
    kind: str
    route_id: str
    event: Event


# Told of every breach this process records (metrics).
_listeners: Listeners[Breach] = Listeners("SLA")
add_listener = _listeners.add
remove_listener = _listeners.remove
_announce = _listeners.announce


async def record_breaches(db: Database, config: Config, now: datetime) -> list[Breach]:
    """Record every breach due by `now` that is not recorded yet; returns those this call recorded."""
    shortest = config.shortest_sla_target
    if shortest is None:
        return []  # no target anywhere: the open incidents (thousands in an outage) are not read every 5 s
    async with db.connection() as conn:
        # Incidents triggered less than the shortest target ago cannot have breached anything yet.
        candidates = await sla_sql.open_incidents(conn, triggered_before=now - shortest)
    found: list[Breach] = []
    for incident in candidates:
        target = config.sla_target(incident.route_id, incident.severity)
        if target.empty:
            continue
        for kind in due_now(incident.clock, target, now, set(incident.recorded)):
            breach = await _record(db, config, incident.id, kind, now)
            if breach is not None:
                found.append(breach)
                _announce(breach)
    return found


async def _record(db: Database, config: Config, incident_id: int, kind: str, now: datetime) -> Breach | None:
    """Check the breach again under the incident's lock and record it once."""
    async with db.transaction() as conn:
        incident = await incidents_sql.get(conn, incident_id, for_update=True)
        clock = clock_of(incident)
        target = config.sla_target(incident.route_id, incident.severity)
        if kind not in due_now(clock, target, now, set()):
            return None  # acknowledged, resolved or reopened meanwhile
        due = due_at(clock, target, kind)
        limit = target.of(kind)
        if due is None or limit is None:
            return None  # due_now found this kind due, so it has a target and a due time; never taken
        breach_id = await sla_sql.insert_breach(conn, incident_id, kind, incident.triggered_at, due, incident.route_id)
        if breach_id is None:
            return None
        data = {"kind": kind, "due_at": due.isoformat(), "target_seconds": limit.total_seconds(),
                "route": incident.route_id}
        (event,) = await record(conn, [NewEvent(incident_id, EventKind.SLA_BREACHED, ACTOR, SOURCE,
                                                breach_message(kind, limit), data)])
        await sla_sql.link_event(conn, breach_id, event.id)
        if target.on_breach == ESCALATE:
            policy_id = config.routes.by_id(incident.route_id).escalation
            await escalation.escalate_now(conn, config, incident_id, policy_id, f"SLA {kind} breached", now)
    return Breach(incident_id, kind, incident.route_id, event)


def clock_of(incident: Incident) -> Clock:
    """The instants an incident's SLA is measured from."""
    return Clock(incident.triggered_at, incident.acknowledged_at, incident.resolved_at)


def incident_sla(config: Config, incident: Incident, now: datetime) -> SlaStatus:
    """Where the incident stands against its SLA target at `now`."""
    return status(clock_of(incident), config.sla_target(incident.route_id, incident.severity), now)


def severity_order(value: object) -> tuple[int, str]:
    """Sort key of report groups: severities by rank, anything else by name."""
    text = str(value) if value is not None else ""
    return (SEVERITIES.index(text), "") if text in SEVERITIES else (len(SEVERITIES), text)


def targets_of(config: Config) -> sla_sql.Targets:
    """The config's targets as the report query takes them."""
    scoped = [("route", r.id, r.sla) for r in config.routes.routes if r.sla is not None]
    scoped += [("severity", severity, target) for severity, target in config.sla.items()]
    return sla_sql.Targets(
        scopes=[scope for scope, _, _ in scoped],
        keys=[key for _, key, _ in scoped],
        ack=[t.ack.total_seconds() if t.ack else None for _, _, t in scoped],
        resolve=[t.resolve.total_seconds() if t.resolve else None for _, _, t in scoped],
    )


@dataclass(frozen=True, slots=True)
class Report:
    """The SLA report of a window: a row per group, the total, and a row per week (UTC, Monday first)."""

    since: datetime
    until: datetime
    group_by: str
    groups: list[sla_sql.ReportRow]
    total: sla_sql.ReportRow
    weekly: list[sla_sql.ReportRow]


async def report(db: Database, config: Config, since: datetime, until: datetime, group_by: str,
                 now: datetime) -> Report:
    """The SLA report of incidents created in [since, until), measured against the config's targets at `now`.

    Its two statements (per group; per week with the total) run at once on two connections that share one
    snapshot, so the figures agree; on one connection, one after the other, when the pool has no spare one."""
    targets = targets_of(config)
    async with db.connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await sla_sql.prepare_report(conn)
        async with db.spare_connection() as spare:
            if spare is None:
                groups = await sla_sql.group_rows(conn, since, until, group_by, targets, now)
                weekly, total = await sla_sql.week_rows(conn, since, until, targets, now)
            else:
                snapshot = await sla_sql.export_snapshot(conn)
                async with spare.transaction(isolation="repeatable_read", readonly=True):
                    await sla_sql.import_snapshot(spare, snapshot)
                    await sla_sql.prepare_report(spare)
                    groups, (weekly, total) = await _at_once(
                        sla_sql.group_rows(spare, since, until, group_by, targets, now),
                        sla_sql.week_rows(conn, since, until, targets, now))
    return Report(since, until, group_by, sorted(groups, key=lambda r: severity_order(r.group)), total,
                  sorted(weekly, key=lambda r: r.group))


async def _at_once(first: Coroutine[Any, Any, A], second: Coroutine[Any, Any, B]) -> tuple[A, B]:
    """Both results; when one fails the other is cancelled (its connection free again) and the first error is
    raised as itself, not as a group, so callers see the database's error (Unavailable, a timeout) they expect."""
    try:
        async with asyncio.TaskGroup() as tasks:
            one, other = tasks.create_task(first), tasks.create_task(second)
    except ExceptionGroup as errors:
        raise errors.exceptions[0] from None
    return one.result(), other.result()
