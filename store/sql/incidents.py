"""Queries on the incidents table. Each takes a connection first and never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from store.domain.grouping import IncidentFields
from store.models import Incident


class NotFound(LookupError):
    """No row with that id."""


async def get(conn: asyncpg.Connection, incident_id: int, *, for_update: bool = False) -> Incident:
    """One incident by id (locked when for_update), or NotFound."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM incidents WHERE id = $1{lock}", incident_id)  # noqa: S608 - `lock` is one of two literals; the id is a parameter
    if row is None:
        raise NotFound(f"incident #{incident_id} does not exist")
    return Incident.from_record(row)


async def lock_open_in_group(conn: asyncpg.Connection, group_key: str) -> Incident | None:
    """The open incident of a group, locked for this transaction."""
    row = await conn.fetchrow(
        "SELECT * FROM incidents WHERE group_key = $1 AND status <> 'resolved' FOR UPDATE", group_key
    )
    return Incident.from_record(row) if row else None


async def lock_recently_resolved(conn: asyncpg.Connection, group_key: str, since: datetime) -> Incident | None:
    """The group's latest incident resolved after `since`, locked (for reopen_within)."""
    row = await conn.fetchrow(
        """
        SELECT * FROM incidents
        WHERE group_key = $1 AND status = 'resolved' AND resolved_at >= $2
        ORDER BY resolved_at DESC LIMIT 1
        FOR UPDATE
        """,
        group_key,
        since,
    )
    return Incident.from_record(row) if row else None


async def lock_open_or_recent(conn: asyncpg.Connection, group_key: str, since: datetime) -> Incident | None:
    """The group's open incident, else its latest one resolved after `since`; locked. One round trip."""
    row = await conn.fetchrow(
        """
        SELECT * FROM incidents
        WHERE group_key = $1
          AND (status <> 'resolved' OR (status = 'resolved' AND resolved_at >= $2))
        ORDER BY status = 'resolved', resolved_at DESC
        LIMIT 1
        FOR UPDATE
        """,
        group_key,
        since,
    )
    return Incident.from_record(row) if row else None


async def insert_open(
    conn: asyncpg.Connection,
    *,
    group_key: str,
    route_id: str,
    source: str,
    title: str,
    severity: str,
    group_labels: dict[str, str],
    external_url: str,
    auto_resolve: bool,
    now: datetime,
    description: str = "",
    channels: dict[str, Any] | None = None,
) -> Incident | None:
    """Insert a triggered incident; None when the group already has an open one (another writer won)."""
    row = await conn.fetchrow(
        """
        INSERT INTO incidents (group_key, route_id, source, status, severity, title, description,
                               group_labels, external_url, auto_resolve,
                               created_at, updated_at, triggered_at, channels)
        VALUES ($1, $2, $3, 'triggered', $4, $5, $6, $7, $8, $9, $10, $10, $10, $11)
        ON CONFLICT (group_key) WHERE status <> 'resolved' DO NOTHING
        RETURNING *
        """,
        group_key,
        route_id,
        source,
        severity,
        title,
        description,
        group_labels,
        external_url,
        auto_resolve,
        now,
        channels or {},
    )
    return Incident.from_record(row) if row else None


async def reopen(conn: asyncpg.Connection, incident_id: int, now: datetime) -> Incident:
    """Turn a resolved incident back to triggered; escalation starts again from now."""
    row = await conn.fetchrow(
        """
        UPDATE incidents
        SET status = 'triggered', triggered_at = $2, updated_at = $2, reopen_count = reopen_count + 1,
            acknowledged_at = NULL, acknowledged_by = NULL, resolved_at = NULL, resolved_by = NULL
        WHERE id = $1
        RETURNING *
        """,
        incident_id,
        now,
    )
    return Incident.from_record(row)


async def apply_fields(
    conn: asyncpg.Connection, incident_id: int, fields: IncidentFields, external_url: str, now: datetime
) -> None:
    """Store the fields derived from the incident's alerts."""
    await conn.execute(
        """
        UPDATE incidents
        SET title = $2, severity = $3, labels = $4, summary = $5, links = $6,
            alert_count = $7, firing_alert_count = $8,
            external_url = CASE WHEN $9 = '' THEN external_url ELSE $9 END, updated_at = $10
        WHERE id = $1
        """,
        incident_id,
        fields.title,
        fields.severity,
        fields.labels,
        fields.summary,
        fields.links,
        fields.alert_count,
        fields.firing_count,
        external_url,
        now,
    )


async def set_status(
    conn: asyncpg.Connection, incident_id: int, status: str, actor: str, now: datetime
) -> Incident:
    """Acknowledge or resolve: the status and who did it, when."""
    column = {"acknowledged": "acknowledged", "resolved": "resolved"}[status]
    row = await conn.fetchrow(
        f"""
        UPDATE incidents
        SET status = $2, {column}_at = $3, {column}_by = $4, updated_at = $3
        WHERE id = $1
        RETURNING *
        """,  # noqa: S608 - `column` comes from a two-entry literal map; values are parameters
        incident_id,
        status,
        now,
        actor,
    )
    return Incident.from_record(row)


async def touch(conn: asyncpg.Connection, incident_id: int, now: datetime) -> None:
    """Mark the incident as changed now."""
    await conn.execute("UPDATE incidents SET updated_at = $2 WHERE id = $1", incident_id, now)


def record_values(row: Any) -> dict[str, Any]:
    """A record as a plain dict."""
    return dict(row.items())
