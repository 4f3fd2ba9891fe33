"""Acting from a phone: one-tap links, SMS replies, voice keypresses and Pushover acknowledgements.

Each action is recorded as the paged person through the channel it came from, in one transaction with the
record that makes it act once (the link's id, the call's or message's id, the Pushover receipt): a replayed
link or request is refused and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from store import escalation, lifecycle, paging
from store.db import Database
from store.domain.action_links import ACK, RESOLVE, ActionLink, LinkRefused
from store.domain.config_schema import Config
from store.domain.incident import ActionSource, Status
from store.errors import Conflict, Invalid
from store.lifecycle import ActionResult
from store.models import NewEvent
from store.sql import incidents as incidents_sql
from store.sql import paging as sql
from store.timeline import EventKind, record

ESCALATE = "escalate"
PHONE_ACTIONS = (ACK, RESOLVE, ESCALATE)
REPLAY_WINDOW = timedelta(days=2)  # how long a call's or message's id is remembered


@dataclass(frozen=True, slots=True)
class PhoneAction:
    """A person's answer from a phone: the action, the incident, who, through which channel, and the answer's id."""

    action: str  # ack, resolve or escalate
    incident_id: int
    user_id: str
    source: ActionSource
    once_id: str  # e.g. "voice:CA…:1"; a second request with the same id is refused


async def act_by_link(db: Database, link: ActionLink, now: datetime) -> ActionResult:
    """Carry out a verified link's action as its person, once: LinkRefused("used") for a link used before."""
    if link.action not in (ACK, RESOLVE):
        raise Invalid("action", f"{link.action!r}: a link acknowledges or resolves")
    async with db.transaction() as conn:
        used = await sql.use_link(conn, link.link_id, link.incident_id, link.user_id, link.action, link.channel,
                                  link.expires_at)
        if used is None:
            raise await _used(conn, link.link_id)
        result = await _lifecycle(conn, link.action, link.incident_id, link.user_id, ActionSource(link.channel), now)
    return lifecycle.announce(result)


async def link_used_at(db: Database, link_id: str) -> datetime | None:
    """When the link with this id was used (None: not yet)."""
    async with db.connection() as conn:
        return await sql.link_used_at(conn, link_id)


async def _used(conn: asyncpg.Connection, link_id: str) -> LinkRefused:
    when = await sql.link_used_at(conn, link_id)
    stamp = f" at {when:%Y-%m-%d %H:%M} UTC" if when else ""
    return LinkRefused("used", f"This link was already used{stamp}; each link acts once.")


async def act_by_phone(db: Database, config: Config, answer: PhoneAction, now: datetime) -> ActionResult:
    """Acknowledge, resolve or escalate as the person answered, once per answer id."""
    if answer.action not in PHONE_ACTIONS:
        raise Invalid("action", f"{answer.action!r}: expected one of {', '.join(PHONE_ACTIONS)}")
    async with db.transaction() as conn:
        fresh = await sql.use_link(conn, answer.once_id, answer.incident_id, answer.user_id, answer.action,
                                   answer.source.value, now + REPLAY_WINDOW)
        if fresh is None:
            raise Conflict("this answer was already carried out", code="replayed")
        if answer.action == ESCALATE:
            result = await _request_escalation(conn, config, answer, now)
        else:
            result = await _lifecycle(conn, answer.action, answer.incident_id, answer.user_id, answer.source, now)
    return lifecycle.announce(result)


async def _lifecycle(
    conn: asyncpg.Connection, action: str, incident_id: int, user_id: str, source: ActionSource, now: datetime
) -> ActionResult:
    if action == ACK:
        return await lifecycle.acknowledge_on(conn, incident_id, user_id, source, now=now)
    return await lifecycle.resolve_on(conn, incident_id, user_id, source, now=now)


async def _request_escalation(conn: asyncpg.Connection, config: Config, answer: PhoneAction,
                              now: datetime) -> ActionResult:
    """Stop paging this person and fire the incident's next escalation step now."""
    incident = await incidents_sql.get(conn, answer.incident_id, for_update=True)
    if incident.status is not Status.TRIGGERED:
        raise lifecycle.conflict(incident, "escalate")
    if not await escalation.hurry_next_step(conn, config, answer.incident_id, now):
        raise Conflict(f"#{incident.id} has no further escalation step to go to", code="no_escalation")
    await paging.stop(conn, answer.incident_id, answer.user_id)
    message = f"Escalation requested by {answer.user_id}: the next step is paged now"
    events = await record(conn, [NewEvent(answer.incident_id, EventKind.ESCALATION_REQUESTED, answer.user_id,
                                          answer.source.value, message)])
    return ActionResult("escalate", incident, events)


async def latest_incident_texted(db: Database, number: str) -> int | None:
    """The incident of the latest text sent to this number: a bare SMS reply is about it."""
    async with db.connection() as conn:
        return await sql.latest_incident_texted(conn, number)


async def pushover_receipt(db: Database, receipt: str) -> tuple[int, str] | None:
    """(incident id, Pushover user key) of the emergency message with this receipt, or None."""
    async with db.connection() as conn:
        return await sql.pushover_receipt(conn, receipt)


async def reserve_send(db: Database, number: str, interval: float) -> tuple[float, datetime | None]:
    """Take the number's send slot, (0, its time), or say how many seconds until it frees (at most one message
    per interval to a number, across replicas)."""
    async with db.transaction() as conn:
        return await sql.reserve_send(conn, number, interval)


async def release_send(db: Database, number: str, taken_at: datetime) -> None:
    """Give back a slot whose message the provider did not take."""
    async with db.transaction() as conn:
        await sql.release_send(conn, number, taken_at)


async def forget_expired_links(db: Database) -> int:
    """Drop the records of expired links and answers; how many."""
    async with db.transaction() as conn:
        return await sql.forget_expired_links(conn)
