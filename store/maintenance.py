"""Maintenance windows: made through the API or chat, listed with the config's, ended early; incidents released
when their window ends (paging once if they still fire); Alertmanager silences for windows that ask for one.

The ingest decides which incidents open in a window (store/ingest_quiet.py). The release job claims each
incident still in a window that is no longer in force with FOR NO KEY UPDATE SKIP LOCKED, so it is
released once across replicas, in the transaction that writes its timeline entry and restarts its
escalation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from store import escalation
from store.db import Database
from store.domain.config_fields import format_span
from store.domain.config_schema import Config
from store.domain.incident import ActionSource, Status
from store.domain.maintenance import MAX_DURATION, MIN_DURATION, Window, active
from store.domain.matchers import Matcher, parse_matchers
from store.errors import Conflict, Invalid, NotFound, Unavailable
from store.models import Event, Incident, NewEvent
from store.silence import SilenceFailed, Silencer
from store.sql import escalations as escalations_sql
from store.sql import events as events_sql
from store.sql import incidents as incidents_sql
from store.sql import maintenance as sql
from store.timeline import EventKind, record

log = logging.getLogger(__name__)
ACTOR = "scheduler"
SOURCE = ActionSource.SCHEDULER.value
KIND = "maintenance"  # the NOTIFY kind that tells dashboards the windows changed
MAX_AHEAD = timedelta(days=366)
ENDED_SHOWN = timedelta(days=1)
SILENCE_LEASE = 60.0


@dataclass(frozen=True, slots=True)
class WindowView:
    """A window as listed: where it comes from, and its period in force or next (None: none left)."""

    window: Window
    period: tuple[datetime, datetime] | None
    active: bool


def read_matchers(texts: Sequence[str], field: str = "match") -> tuple[list[str], tuple[Matcher, ...]]:
    """Matcher texts (each may hold several) as stored and parsed; Invalid naming `field` when one is wrong."""
    if not texts:
        raise Invalid(field, 'expected one or more matchers such as service="db"')
    parsed: list[Matcher] = []
    for index, text in enumerate(texts):
        try:
            parsed.extend(parse_matchers(text))
        except ValueError as exc:
            raise Invalid(f"{field}[{index}]", str(exc)) from None
    if not parsed:
        raise Invalid(field, 'expected one or more matchers such as service="db"')
    return [str(m) for m in parsed], tuple(parsed)


def period(starts_at: datetime | None, ends_at: datetime | None, duration: timedelta | None,
           now: datetime) -> tuple[datetime, datetime]:
    """A new window's start and end from `from`/`until` or a duration from now; Invalid naming the field."""
    start = starts_at or now
    if duration is not None and ends_at is not None:
        raise Invalid("duration", "give duration or until, not both")
    if duration is not None:
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise Invalid("duration", "expected a duration from 1m to 31d such as 2h")
        end = start + duration
    elif ends_at is not None:
        end = ends_at
    else:
        raise Invalid("duration", "expected a duration (such as 2h), or from and until")
    if end <= start:
        raise Invalid("until", f"{end.isoformat()} is not after from ({start.isoformat()}); expected later")
    if end <= now:
        raise Invalid("until", f"{end.isoformat()} has passed; expected a time to come")
    if end - start > MAX_DURATION or start > now + MAX_AHEAD:
        raise Invalid("until", "expected a window of at most 31d starting within a year")
    return start, end


def silence_body(window: Window, start: datetime, end: datetime, created_by: str) -> dict[str, object]:
    """The Alertmanager silence (API v2) of a window's period: its matchers as Alertmanager's."""
    return {
        "matchers": [{"name": m.name, "value": m.value, "isRegex": m.op in ("=~", "!~"),
                      "isEqual": m.op in ("=", "=~")} for m in window.matchers],
        "startsAt": _z(start),
        "endsAt": _z(end),
        "createdBy": created_by,
        "comment": f"Tocsin maintenance window {window.id}" + (f": {window.comment}" if window.comment else ""),
    }


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def create(
    db: Database, texts: Sequence[str], start: datetime, end: datetime, actor: str, *,
    comment: str = "", silence: bool = False, silencer: Silencer | None = None, now: datetime | None = None,
) -> Window:
    """Store a window (and make its Alertmanager silence first, when asked: nothing is stored if that fails)."""
    when = now or datetime.now(UTC)
    stored, matchers = read_matchers(texts)
    silence_ids: list[str] = []
    if silence:
        if silencer is None:
            raise Conflict("silences are off: ALERTMANAGER_URL is not set on Tocsin", code="silences_off")
        draft = Window("new", matchers, start, end, comment=comment)
        try:
            silence_ids.append(await silencer.create_silence(silence_body(draft, start, end, actor)))
        except SilenceFailed as exc:
            raise Unavailable(str(exc), code="alertmanager_unavailable") from None
    async with db.transaction() as conn:
        window = await sql.insert(conn, stored, start, end, silence=silence, silence_ids=silence_ids,
                                  comment=comment, created_by=actor, now=when)
        await events_sql.notify(conn, [], [KIND])
    return window


async def views(db: Database, config: Config, now: datetime | None = None) -> list[WindowView]:
    """The config's windows, then the stored ones in force, to come or ended within a day, by start."""
    when = now or datetime.now(UTC)
    async with db.connection() as conn:
        stored = await sql.not_over(conn, when, when - ENDED_SHOWN)
    found = [WindowView(w, w.next_period(when), w.current(when) is not None) for w in config.maintenance]
    found += [WindowView(w, (w.starts_at, w.ends_at), w.current(when) is not None)  # type: ignore[arg-type]
              for w in stored]
    return found


async def end(db: Database, config: Config, window_id: str, actor: str, now: datetime | None = None) -> Window:
    """End a stored window now (its incidents are released at once); NotFound, Conflict for a config window or
    one already over."""
    when = now or datetime.now(UTC)
    if config.maintenance and any(w.id == window_id for w in config.maintenance):
        raise Conflict(f"maintenance window {window_id} is declared in the config file; remove it there",
                       code="declared_in_config")
    async with db.transaction() as conn:
        window = await sql.get(conn, window_id, lock=True)
        if window is None:
            raise NotFound(f"maintenance window {window_id} does not exist")
        if window.ends_at is not None and window.ends_at <= when:
            raise Conflict(f"maintenance window {window_id} already ended at {_z(window.ends_at)}",
                           code="already_ended")
        window = await sql.end(conn, window_id, actor, when)
        await events_sql.notify(conn, [], [KIND])
    await release_ended(db, config, when)
    return window


async def in_force(conn: asyncpg.Connection, config: Config, now: datetime) -> set[str]:
    """The ids of every window in force at `now`."""
    return {w.id for w in active(config.maintenance, now)} | {w.id for w in await sql.active(conn, now)}


async def release_ended(db: Database, config: Config, now: datetime) -> list[Event]:
    """Release every open incident whose window is no longer in force, each once, in its own transaction."""
    async with db.connection() as conn:
        waiting = await sql.in_maintenance(conn)
        if not waiting:
            return []
        live = await in_force(conn, config, now)
    written: list[Event] = []
    for incident_id, window_id in waiting:
        if window_id in live:
            continue
        async with db.transaction() as conn:
            incident = await sql.lock_in_window(conn, incident_id, window_id)
            if incident is not None:
                written += await _release(conn, config, incident, now)
    return written


async def _release(conn: asyncpg.Connection, config: Config, incident: Incident, now: datetime) -> list[Event]:
    window = incident.maintenance_id
    released = await incidents_sql.set_quiet(conn, incident.id, maintenance_id=None, flapping=incident.flapping,
                                             now=now)
    if released.status is Status.TRIGGERED and released.firing_alert_count > 0 and not released.flapping:
        message = f"Maintenance window {window} ended while it still fires: paging now"
        route = config.routes.by_id(incident.route_id)
        if not await escalations_sql.restart(conn, incident.id, now) and route.escalation:
            await escalation.start(conn, incident.id, route.escalation, now)
        kind = EventKind.MAINTENANCE_ENDED
    else:
        message, kind = f"Maintenance window {window} ended", EventKind.MAINTENANCE_LEFT
    return await record(conn, [NewEvent(incident.id, kind, ACTOR, SOURCE, message, {"maintenance": window})])


async def make_silences(db: Database, config: Config, silencer: Silencer | None, now: datetime) -> int:
    """Make the Alertmanager silence of each config window with `silence: true` in force now, once across
    replicas (a failed attempt is tried again at the next run); returns how many were made."""
    if silencer is None:
        return 0
    made = 0
    for window in config.maintenance:
        current = window.current(now) if window.silence else None
        if current is None:
            continue
        async with db.transaction() as conn:
            claimed = await sql.claim_silence(conn, window.id, current[0], current[1], now, SILENCE_LEASE)
        if not claimed:
            continue
        try:
            silence_id: str | None = await silencer.create_silence(
                silence_body(window, max(current[0], now), current[1], "tocsin"))
        except SilenceFailed as exc:
            log.warning("maintenance window %s: could not make its Alertmanager silence (%s); trying again",
                        window.id, exc)
            silence_id = None
        async with db.transaction() as conn:
            await sql.silence_made(conn, window.id, current[0], silence_id)
        made += silence_id is not None
    return made


def describe(window: Window) -> str:
    """A window in words: 'mw-3 (service="db")'."""
    return f"{window.id} ({', '.join(window.match_text())})"


def length(start: datetime, end: datetime) -> str:
    """'2h'."""
    return format_span(end - start)
