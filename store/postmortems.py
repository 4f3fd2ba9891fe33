"""The post-mortem service: a resolved incident's review, read (a draft filled with its facts until one is saved)
and saved with optimistic concurrency: a save names the version it edited, and a stale one is refused (412)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from store.db import Database
from store.domain.config_schema import Config
from store.domain.incident import ActionSource, Status
from store.domain.postmortem import DRAFT, MAX_MARKDOWN, PUBLISHED, STATUSES, Facts, draft, publish_problems
from store.errors import Conflict, Invalid, NotFound, Stale, VersionRequired
from store.models import Incident, NewEvent
from store.sla import incident_sla
from store.sql import alerts as alerts_sql
from store.sql import events as events_sql
from store.sql import incidents as incidents_sql
from store.sql import postmortems as postmortems_sql
from store.timeline import EventKind, record


@dataclass(frozen=True, slots=True)
class Review:
    """A post-mortem as read: stored (version >= 1) or the filled-in draft (version 0)."""

    incident: Incident
    status: str
    markdown: str
    version: int
    updated_by: str | None = None
    updated_at: datetime | None = None
    published_at: datetime | None = None


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def resolved_incident(conn: asyncpg.Connection, incident_id: int, *, lock: bool = False) -> Incident:
    """The incident, which must be resolved to have a post-mortem; 404 when unknown, 409 while open."""
    try:
        incident = await incidents_sql.get(conn, incident_id, for_update=lock)
    except incidents_sql.NotFound:
        raise NotFound.incident(incident_id) from None
    if incident.status is not Status.RESOLVED:
        raise Conflict(f"incident #{incident_id} is {incident.status.value}: a post-mortem is written once it is "
                       "resolved", [{"field": "status", "message": incident.status.value}], code="incident_open")
    return incident


async def _facts(conn: asyncpg.Connection, config: Config, incident: Incident, now: datetime) -> Facts:
    alerts = await alerts_sql.list_for_incident(conn, incident.id)
    events = await events_sql.list_for_incident(conn, incident.id)
    target = config.sla_target(incident.route_id, incident.severity)
    return Facts(incident, alerts, events, target, incident_sla(config, incident, now))


async def read(db: Database, config: Config, incident_id: int, now: datetime | None = None) -> Review:
    """The incident's review; the draft filled with its facts when none is saved; 409 while it is open."""
    async with db.connection() as conn:
        incident = await resolved_incident(conn, incident_id)
        stored = await postmortems_sql.get(conn, incident_id)
        if stored is None:
            facts = await _facts(conn, config, incident, now or datetime.now(UTC))
            return Review(incident, DRAFT, draft(facts), 0)
    return Review(incident, stored.status, stored.markdown, stored.version, stored.updated_by, stored.updated_at,
                  stored.published_at)


def _check(status: str, markdown: str) -> None:
    if status not in STATUSES:
        raise Invalid("status", f"{status!r}: expected draft or published")
    if not markdown.strip() or len(markdown) > MAX_MARKDOWN or "\x00" in markdown:
        raise Invalid("markdown", f"expected text of 1 to {MAX_MARKDOWN} characters")
    problems = publish_problems(markdown) if status == PUBLISHED else []
    if problems:
        error = Invalid("markdown", problems[0])
        error.message = f"markdown: cannot publish: {problems[0]}"
        error.details = [{"field": "markdown", "message": p} for p in problems]
        raise error


def stale(incident_id: int, edited: int, current: postmortems_sql.Postmortem | None) -> Stale:
    """The 412 for a save based on an old version, naming who saved the current one and when."""
    if current is None:
        message = f"the post-mortem of #{incident_id} has no saved version {edited}; reload it"
    else:
        message = (f"the post-mortem of #{incident_id} changed since you read it: version {current.version} was "
                   f"saved by {current.updated_by} at {_stamp(current.updated_at)}; reload it and apply your edit "
                   "again")
    return Stale(message, [{"field": "If-Match", "message": "stale version"}])


async def save(
    db: Database,
    incident_id: int,
    edited_version: int | None,
    status: str,
    markdown: str,
    actor: str,
    source: ActionSource,
    *,
    now: datetime | None = None,
) -> Review:
    """Save the review as version edited_version + 1; 412 when someone saved since that version was read, 428
    when the caller does not say which version it edited."""
    _check(status, markdown)
    when = now or datetime.now(UTC)
    async with db.transaction() as conn:
        incident = await resolved_incident(conn, incident_id, lock=True)
        if edited_version is None:
            raise VersionRequired("send If-Match with the ETag of the version you edited (GET it first)",
                                  [{"field": "If-Match", "message": "required"}])
        current = await postmortems_sql.get(conn, incident_id, for_update=True)
        if (current.version if current else 0) != edited_version:
            raise stale(incident_id, edited_version, current)
        stored = await postmortems_sql.save(conn, incident_id, edited_version + 1, status, markdown, actor, when)
        if stored is None:
            raise stale(incident_id, edited_version, await postmortems_sql.get(conn, incident_id))
        publishing = status == PUBLISHED and (current is None or current.status != PUBLISHED)
        kind = EventKind.POSTMORTEM_PUBLISHED if publishing else EventKind.POSTMORTEM_SAVED
        words = "published" if publishing else f"saved ({status}, version {stored.version})"
        await record(conn, [NewEvent(incident_id, kind, actor, source.value, f"Post-mortem {words} by {actor}",
                                     {"version": stored.version, "status": status})])
    return Review(incident, stored.status, stored.markdown, stored.version, stored.updated_by, stored.updated_at,
                  stored.published_at)



async def check_reviewable(db: Database, incident_id: int) -> Incident:
    """The incident when it can have a post-mortem (resolved); 404 when unknown, 409 while open."""
    async with db.connection() as conn:
        return await resolved_incident(conn, incident_id)
