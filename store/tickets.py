"""Issues opened for an incident in other systems (Jira): recorded once, with a timeline entry every chat shows."""

from __future__ import annotations

from datetime import UTC, datetime

from store.db import Database
from store.domain.incident import ActionSource
from store.models import Event, NewEvent
from store.sql import incidents as incidents_sql
from store.timeline import EventKind, record

SYSTEM_NAMES = {"jira": "Jira"}


async def attach(
    db: Database, incident_id: int, system: str, key: str, url: str, source: ActionSource, now: datetime | None = None
) -> list[Event]:
    """Record the issue `key` of `system` on the incident (again: nothing changes); the timeline entries written."""
    async with db.transaction() as conn:
        incident = await incidents_sql.get(conn, incident_id, for_update=True)
        if any(t.get("system") == system and t.get("key") == key for t in incident.tickets):
            return []
        ticket = {"system": system, "key": key, "url": url}
        await incidents_sql.add_ticket(conn, incident_id, ticket, now or datetime.now(UTC))
        message = f"{SYSTEM_NAMES.get(system, system)} issue {key} opened"
        return await record(conn, [NewEvent(incident_id, EventKind.TICKET, system, source.value, message, ticket)])
