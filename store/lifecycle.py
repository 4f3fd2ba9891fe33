"""Lifecycle services called by every channel (API, Slack, Telegram, web): acknowledge, resolve, note, open.

Each is one transaction that locks the incident, checks the transition (store/domain/incident.py),
changes it and records the timeline entries. A person's resolve closes the incident whatever its
alerts say; alerts that keep firing later follow the ingest rules (reopen within the route's
`reopen_within`, else a new incident).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from store import escalation, templates
from store.db import Database
from store.domain.config_schema import Config
from store.domain.incident import (
    SEVERITIES,
    ActionSource,
    InvalidTransition,
    Status,
    check_acknowledge,
    check_resolve,
)
from store.domain.templates import Template
from store.errors import Conflict, Invalid
from store.listeners import Listeners
from store.models import Event, Incident, NewEvent
from store.sql import acks as acks_sql
from store.sql import incidents as incidents_sql
from store.timeline import EventKind, record

log = logging.getLogger(__name__)
MANUAL_ROUTE = "default"


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action changed: the incident after it, and the timeline entries written."""

    action: str
    incident: Incident
    events: list[Event]


# Told of each committed action (the composition root adds metrics here); never raises into the caller.
_listeners: Listeners[ActionResult] = Listeners("lifecycle")
add_listener = _listeners.add
remove_listener = _listeners.remove
announce = _listeners.announce


def _stamp(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else "an unknown time"


def conflict(incident: Incident, action: str) -> Conflict:
    """The conflict for an action that makes no sense now, naming the state and who put it there, when."""
    if incident.status is Status.RESOLVED:
        state = f"already resolved by {incident.resolved_by or 'unknown'} at {_stamp(incident.resolved_at)}"
    elif incident.status is Status.ACKNOWLEDGED:
        state = f"already acknowledged by {incident.acknowledged_by or 'unknown'} at {_stamp(incident.acknowledged_at)}"
    else:
        state = "triggered"
    message = f"cannot {action} #{incident.id}: #{incident.id} was {state}"
    return Conflict(message, [{"field": "status", "message": incident.status.value}])


async def _lock(conn: asyncpg.Connection, incident_id: int) -> Incident:
    return await incidents_sql.get(conn, incident_id, for_update=True)  # NotFound.incident when unknown


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _allowed(incident: Incident, action: str, check: Callable[[int, Status], None]) -> None:
    try:
        check(incident.id, incident.status)
    except InvalidTransition:
        raise conflict(incident, action) from None


async def _transition(
    conn: asyncpg.Connection,
    incident_id: int,
    action: str,
    check: Callable[[int, Status], None],
    status: Status,
    who: str,
    when: datetime,
) -> Incident:
    """Check the transition (Conflict naming the current state), lock, check again, set the status and stop
    escalation. A click that changes nothing (an incident already acknowledged, say, as when everyone in the channel
    presses the button) is answered from the committed row without its lock, which webhooks flooding the incident
    take in turn."""
    _allowed(await incidents_sql.get(conn, incident_id), action, check)
    _allowed(await _lock(conn, incident_id), action, check)  # it may have changed before the lock
    incident = await incidents_sql.set_status(conn, incident_id, status.value, who, when)
    await escalation.stop(conn, incident_id)
    return incident


async def acknowledge(
    db: Database,
    incident_id: int,
    actor: str,
    source: ActionSource,
    *,
    assignee: str | None = None,
    now: datetime | None = None,
) -> ActionResult:
    """Acknowledge a triggered incident; `assignee` (default the actor) is who took it."""
    async with db.transaction(stateless=True) as conn:
        result = await acknowledge_on(conn, incident_id, actor, source, assignee=assignee, now=now)
    return announce(result)


async def acknowledge_on(
    conn: asyncpg.Connection,
    incident_id: int,
    actor: str,
    source: ActionSource,
    *,
    assignee: str | None = None,
    now: datetime | None = None,
) -> ActionResult:
    """acknowledge() inside the caller's transaction (which must announce the result after commit)."""
    taker, when = assignee or actor, _now(now)
    incident = await _transition(
        conn, incident_id, "acknowledge", check_acknowledge, Status.ACKNOWLEDGED, taker, when
    )
    await acks_sql.begin(conn, incident_id, when)  # ack_timeout and remind_every, planned by the scheduler
    message = f"Acknowledged by {taker}" + (f" (assigned by {actor})" if taker != actor else "")
    events = await record(
        conn, [NewEvent(incident_id, EventKind.ACKNOWLEDGED, actor, source.value, message, {"assignee": taker})]
    )
    return ActionResult("acknowledge", incident, events)


async def resolve(
    db: Database,
    incident_id: int,
    actor: str,
    source: ActionSource,
    note: str | None = None,
    *,
    resolver: str | None = None,
    now: datetime | None = None,
) -> ActionResult:
    """Resolve an open incident by hand, whatever its alerts say; `note` is kept on the timeline."""
    async with db.transaction(stateless=True) as conn:
        result = await resolve_on(conn, incident_id, actor, source, note, resolver=resolver, now=now)
    return announce(result)


async def resolve_on(
    conn: asyncpg.Connection,
    incident_id: int,
    actor: str,
    source: ActionSource,
    note: str | None = None,
    *,
    resolver: str | None = None,
    now: datetime | None = None,
) -> ActionResult:
    """resolve() inside the caller's transaction (which must announce the result after commit)."""
    who = resolver or actor
    incident = await _transition(conn, incident_id, "resolve", check_resolve, Status.RESOLVED, who, _now(now))
    message = f"Resolved by {who}" + (f": {note}" if note else "")
    data: dict[str, str] = {"resolver": who}
    if note:
        data["note"] = note
    events = await record(conn, [NewEvent(incident_id, EventKind.RESOLVED, actor, source.value, message, data)])
    return ActionResult("resolve", incident, events)


async def add_note(
    db: Database, incident_id: int, actor: str, source: ActionSource, text: str, *, now: datetime | None = None
) -> ActionResult:
    """Add a note to the incident's timeline (in any state)."""
    if not text.strip():
        raise Invalid("text", "expected a non-empty note")
    async with db.transaction(stateless=True) as conn:
        incident = await _lock(conn, incident_id)
        await incidents_sql.touch(conn, incident_id, _now(now))
        events = await record(conn, [NewEvent(incident_id, EventKind.NOTE, actor, source.value, text)])
    return announce(ActionResult("note", incident, events))


async def open_manual(
    db: Database,
    title: str,
    severity: str,
    description: str,
    actor: str,
    source: ActionSource,
    *,
    channels: dict[str, Any] | None = None,
    route_id: str = MANUAL_ROUTE,
    escalation_policy: str | None = None,
    template: Template | None = None,
    now: datetime | None = None,
) -> ActionResult:
    """Open an incident by hand: its own group, so it never merges with alerts; `channels` it must reach.

    `route_id` names the route whose SLA applies, `escalation_policy` starts escalating it, and `template`
    gives it a checklist and runbooks.
    """
    if not title.strip():
        raise Invalid("title", "expected a non-empty title")
    if severity not in SEVERITIES:
        raise Invalid("severity", f"{severity!r}: expected one of {', '.join(SEVERITIES)}")
    when = _now(now)
    async with db.transaction(stateless=True) as conn:
        held = await incidents_sql.insert_open(
            conn,
            group_key=f"manual|{uuid.uuid4()}",
            route_id=route_id,
            source=source.value,
            title=title.strip(),
            severity=severity,
            group_labels={},
            external_url="",
            auto_resolve=False,
            now=when,
            description=description,
            channels=channels or {},
        )
        if held is None:  # a fresh uuid cannot collide; this would be a bug
            raise RuntimeError("manual incident insert returned nothing")
        incident = held.incident
        opened = [NewEvent(incident.id, EventKind.OPENED, actor, source.value, f"Opened by {actor}")]
        if template is not None:
            opened.append(await templates.apply(conn, incident.id, template, actor, source.value, when))
            incident = await incidents_sql.get(conn, incident.id)  # the template may have set its description
        if escalation_policy:
            await escalation.start(conn, incident.id, escalation_policy, when)
        events = await record(conn, opened)
    return announce(ActionResult("open", incident, events))


async def open_incident(
    db: Database,
    config: Config,
    template_id: str | None,
    title: str | None,
    severity: str | None,
    description: str | None,
    actor: str,
    source: ActionSource,
    *,
    now: datetime | None = None,
) -> ActionResult:
    """Open an incident by hand, from a response template when one is named (what the request leaves out comes
    from it; its route gives the channels, escalation and SLA); 422 naming the field for an unknown template."""
    start = templates.opening(config, template_id, title, severity, description)
    return await open_manual(
        db, start.title, start.severity, start.description, actor, source, channels=start.channels,
        route_id=start.route_id, escalation_policy=start.escalation, template=start.template, now=now,
    )
