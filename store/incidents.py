"""Reading incidents for people in chats: the open ones, triggered first."""

from __future__ import annotations

from store.db import Database
from store.domain.incident import Status
from store.models import Incident
from store.sql import incidents as incidents_sql
from store.sql import listing


async def open_incidents(db: Database, per_status: int = 50) -> list[Incident]:
    """Triggered incidents first, then acknowledged ones, newest first within each (at most `per_status` each)."""
    found: list[Incident] = []
    async with db.connection() as conn:
        for status in (Status.TRIGGERED, Status.ACKNOWLEDGED):
            filters = listing.IncidentFilter(status=status.value)
            page = await listing.list_incidents(conn, filters, "-created_at", per_status, None)
            found += page.items
    return found


async def get_incident(db: Database, incident_id: int) -> Incident:
    """One incident; NotFound when there is none with this id."""
    async with db.connection() as conn:
        return await incidents_sql.get(conn, incident_id)
