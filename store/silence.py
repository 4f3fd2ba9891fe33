"""Silence an incident: one Alertmanager silence per firing alert, then one "silenced" timeline entry.

The store does no HTTP itself: the Alertmanager client is passed in (the composition root builds it from
ALERTMANAGER_URL). The silences are made between two transactions (no row is locked while Alertmanager
answers); the entry is recorded like every other action, so lifecycle listeners (metrics) see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from store.db import Database
from store.domain.incident import ActionSource, Status
from store.domain.silence import check_seconds, format_duration
from store.errors import Conflict, Invalid, Unavailable
from store.lifecycle import ActionResult, announce, conflict
from store.models import Incident, NewEvent
from store.sql import alerts as alerts_sql
from store.sql import incidents as incidents_sql
from store.timeline import EventKind, record


class SilenceFailed(Exception):
    """Alertmanager could not be reached or refused the silence; the message says which and why."""


class Silencer(Protocol):
    """What the service needs of Alertmanager: make a silence from matchers, answer its id."""

    async def create_silence(self, body: Mapping[str, object]) -> str: ...


def silence_body(
    labels: Mapping[str, str], starts_at: datetime, seconds: float, created_by: str, comment: str
) -> dict[str, object]:
    """The PostableSilence (Alertmanager API v2) for one alert: an equal matcher per label."""
    return {
        "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(labels.items())],
        "startsAt": _z(starts_at),
        "endsAt": _z(starts_at + timedelta(seconds=seconds)),
        "createdBy": created_by,
        "comment": comment,
    }


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def silence_matchers(db: Database, incident_id: int) -> tuple[Incident, list[dict[str, str]]]:
    """The incident and the label sets of its firing alerts (one silence each); NotFound, or Conflict when
    resolved or when no alert fires (a manual incident has nothing Alertmanager could silence)."""
    async with db.connection() as conn:
        incident = await incidents_sql.get(conn, incident_id)
        if incident.status is Status.RESOLVED:
            raise conflict(incident, "silence")
        alerts = await alerts_sql.list_for_incident(conn, incident_id)
    label_sets = [dict(a.labels) for a in alerts if a.status == "firing" and a.labels]
    if not label_sets:
        raise Conflict(f"incident #{incident_id} has no firing alerts to silence", code="conflict")
    return incident, label_sets


async def silence(
    db: Database,
    silencer: Silencer | None,
    incident_id: int,
    seconds: float,
    actor: str,
    source: ActionSource,
    *,
    now: datetime | None = None,
) -> ActionResult:
    """Silence the incident's firing alerts for `seconds` (1m to 30d) and record it.

    Invalid for a bad duration; NotFound; Conflict when resolved, nothing fires or silences are off
    (ALERTMANAGER_URL unset); Unavailable when Alertmanager fails (nothing is recorded then).
    """
    try:
        seconds = check_seconds(seconds)
    except ValueError as exc:
        raise Invalid("duration", str(exc)) from None
    if silencer is None:
        # Not a passing failure (retrying will not help): a conflict with how Tocsin is set up.
        raise Conflict("silences are off: ALERTMANAGER_URL is not set on Tocsin", code="silences_off")
    _incident, label_sets = await silence_matchers(db, incident_id)
    when = now or datetime.now(UTC)
    ids: list[str] = []
    try:
        for labels in label_sets:
            body = silence_body(labels, when, seconds, actor, f"Tocsin incident #{incident_id}")
            ids.append(await silencer.create_silence(body))
    except SilenceFailed as exc:
        made = f" ({len(ids)} silence(s) were made before: {', '.join(ids)})" if ids else ""
        raise Unavailable(f"{exc}{made}", code="alertmanager_unavailable") from None
    return announce(await record_silence(db, incident_id, ids, seconds, actor, source, now=when))


async def record_silence(
    db: Database,
    incident_id: int,
    silence_ids: list[str],
    seconds: float,
    actor: str,
    source: ActionSource,
    *,
    now: datetime | None = None,
) -> ActionResult:
    """Record silences that Alertmanager has created: one "silenced" entry, in one transaction."""
    when = now or datetime.now(UTC)
    duration = format_duration(seconds)
    async with db.transaction() as conn:
        incident = await incidents_sql.get(conn, incident_id, for_update=True)
        await incidents_sql.touch(conn, incident_id, when)
        data = {
            "silence_id": silence_ids[0] if silence_ids else None,
            "silence_ids": silence_ids,
            "ends_at": (when + timedelta(seconds=seconds)).isoformat(),
            "duration": duration,
        }
        message = f"Silenced for {duration} by {actor}"
        events = await record(conn, [NewEvent(incident_id, EventKind.SILENCED, actor, source.value, message, data)])
    return ActionResult("silence", incident, events)
