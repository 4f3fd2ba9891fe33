"""Silences: what to silence for an incident, and the timeline entry once Alertmanager has made the silence.

The store does no HTTP: the composition root asks Alertmanager (web/alertmanager.py) between the two calls.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from store.db import Database
from store.domain.incident import ActionSource, Status
from store.domain.silence import format_duration
from store.errors import ApiError
from store.lifecycle import ActionResult, conflict
from store.models import Incident, NewEvent
from store.sql import alerts as alerts_sql
from store.sql import incidents as incidents_sql
from store.timeline import EventKind, record


async def _incident(conn: asyncpg.Connection, incident_id: int, for_update: bool = False) -> Incident:
    try:
        return await incidents_sql.get(conn, incident_id, for_update=for_update)
    except incidents_sql.NotFound:
        raise ApiError(404, "not_found", f"incident #{incident_id} does not exist") from None


async def silence_matchers(db: Database, incident_id: int) -> tuple[Incident, list[dict[str, str]]]:
    """The incident and the label sets of its firing alerts (one silence each); 404, or 409 when resolved
    or when no alert fires (a manual incident has nothing Alertmanager could silence)."""
    async with db.connection() as conn:
        incident = await _incident(conn, incident_id)
        if incident.status is Status.RESOLVED:
            raise conflict(incident, "silence")
        alerts = await alerts_sql.list_for_incident(conn, incident_id)
    label_sets = [dict(a.labels) for a in alerts if a.status == "firing" and a.labels]
    if not label_sets:
        raise ApiError(409, "conflict", f"incident #{incident_id} has no firing alerts to silence")
    return incident, label_sets


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
    ends_at = when + timedelta(seconds=seconds)
    duration = format_duration(seconds)
    async with db.transaction() as conn:
        incident = await _incident(conn, incident_id, for_update=True)
        await incidents_sql.touch(conn, incident_id, when)
        data = {
            "silence_id": silence_ids[0] if silence_ids else None,
            "silence_ids": silence_ids,
            "ends_at": ends_at.isoformat(),
            "duration": duration,
        }
        message = f"Silenced for {duration} by {actor}"
        events = await record(conn, [NewEvent(incident_id, EventKind.SILENCED, actor, source.value, message, data)])
    return ActionResult("silence", incident, events)
