"""Queries on the incidents table. Each takes a connection first and never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from store.domain.grouping import IncidentFields
from store.errors import NotFound
from store.models import Incident


@dataclass(frozen=True, slots=True)
class Held:
    """An incident as ingest read it: the row, the summary of its alerts (None before any) and its version."""

    incident: Incident
    derived: dict[str, Any] | None
    version: str  # the row version (xmin) read: an update WHERE it still holds changes what was read


def _held(row: Any) -> Held:
    return Held(Incident.from_record(row), row["derived"], row["version"])


async def get(conn: asyncpg.Connection, incident_id: int, *, for_update: bool = False) -> Incident:
    """One incident by id (locked when for_update), or NotFound."""
    lock = " FOR NO KEY UPDATE" if for_update else ""  # an alert insert (its key share) never waits
    row = await conn.fetchrow(f"SELECT * FROM incidents WHERE id = $1{lock}", incident_id)
    if row is None:
        raise NotFound.incident(incident_id)
    return Incident.from_record(row)


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
    maintenance_id: str | None = None,
) -> Held | None:
    """Insert a triggered incident (in a maintenance window, when given); None when the group already has an
    open one (another writer won)."""
    row = await conn.fetchrow(
        """
        INSERT INTO incidents (group_key, route_id, source, status, severity, title, description,
                               group_labels, external_url, auto_resolve,
                               created_at, updated_at, triggered_at, channels, maintenance_id)
        VALUES ($1, $2, $3, 'triggered', $4, $5, $6, $7, $8, $9, $10, $10, $10, $11, $12)
        ON CONFLICT (group_key) WHERE status <> 'resolved' DO NOTHING
        RETURNING *, xmin::text AS version
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
        maintenance_id,
    )
    return _held(row) if row else None


async def reopen(conn: asyncpg.Connection, incident_id: int, now: datetime, maintenance_id: str | None = None) -> Held:
    """Turn a resolved incident back to triggered (in a maintenance window, when given)."""
    row = await conn.fetchrow(
        """
        UPDATE incidents
        SET status = 'triggered', triggered_at = $2, updated_at = $2, reopen_count = reopen_count + 1,
            acknowledged_at = NULL, acknowledged_by = NULL, resolved_at = NULL, resolved_by = NULL,
            maintenance_id = $3
        WHERE id = $1
        RETURNING *, xmin::text AS version
        """,
        incident_id,
        now,
        maintenance_id,
    )
    return _held(row)


async def find_for_groups(
    conn: asyncpg.Connection, group_keys: list[str], reopen_since: list[datetime]
) -> dict[str, Held]:
    """Each group's open incident, else its latest resolved after its `reopen_since`; read, not locked."""
    rows = await conn.fetch(
        """
        SELECT i.*
        FROM unnest($1::text[], $2::timestamptz[]) AS k(group_key, since),
        LATERAL (
            SELECT *, xmin::text AS version FROM incidents
            WHERE group_key = k.group_key
              AND (status <> 'resolved' OR (status = 'resolved' AND resolved_at >= k.since))
            ORDER BY status = 'resolved', resolved_at DESC
            LIMIT 1
        ) AS i
        """,
        group_keys,
        reopen_since,
    )
    return {r["group_key"]: _held(r) for r in rows}


async def read_held(conn: asyncpg.Connection, incident_ids: list[int], *, lock: bool = False) -> dict[int, Held]:
    """These incidents with their alert summaries and versions (locked, in id order, when `lock`)."""
    clause = " ORDER BY id FOR NO KEY UPDATE" if lock else ""
    rows = await conn.fetch(
        f"SELECT *, xmin::text AS version FROM incidents WHERE id = ANY($1::bigint[]){clause}", incident_ids
    )
    return {r["id"]: _held(r) for r in rows}


async def apply_derived(
    conn: asyncpg.Connection,
    held: Held,
    fields: IncidentFields,
    derived: dict[str, Any],
    external_url: str,
    now: datetime,
    *,
    resolve: bool,
    maintenance_id: str | None = None,
    flapping: bool = False,
) -> Incident | None:
    """Store the fields derived from the incident's alerts, its window and flapping (and resolve it, when
    `resolve`), if it is still the version read; None when someone changed it meanwhile. The row is locked
    from here to the commit."""
    row = await conn.fetchrow(
        """
        UPDATE incidents
        SET title = $3, severity = $4, labels = $5, summary = $6, links = $7,
            alert_count = $8, firing_alert_count = $9, derived = $10,
            external_url = CASE WHEN $11 = '' THEN external_url ELSE $11 END, updated_at = $12,
            status = CASE WHEN $13 THEN 'resolved' ELSE status END,
            resolved_at = CASE WHEN $13 THEN $12 ELSE resolved_at END,
            resolved_by = CASE WHEN $13 THEN $14 ELSE resolved_by END,
            maintenance_id = $15, flapping = $16
        WHERE id = $1 AND xmin::text = $2
        RETURNING *
        """,
        held.incident.id,
        held.version,
        fields.title,
        fields.severity,
        fields.labels,
        fields.summary,
        fields.links,
        fields.alert_count,
        fields.firing_count,
        derived,
        external_url,
        now,
        resolve,
        "alertmanager",
        maintenance_id,
        flapping,
    )
    return Incident.from_record(row) if row else None


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
        """,
        incident_id,
        status,
        now,
        actor,
    )
    return Incident.from_record(row)


async def retrigger(conn: asyncpg.Connection, incident_id: int, now: datetime) -> Incident:
    """Back to triggered (unacknowledged, lapsed, escalated by hand): the acknowledgement is forgotten."""
    row = await conn.fetchrow(
        """
        UPDATE incidents
        SET status = 'triggered', triggered_at = $2, updated_at = $2, acknowledged_at = NULL, acknowledged_by = NULL
        WHERE id = $1
        RETURNING *
        """,
        incident_id,
        now,
    )
    return Incident.from_record(row)


async def set_quiet(conn: asyncpg.Connection, incident_id: int, *, maintenance_id: str | None, flapping: bool,
                    now: datetime) -> Incident:
    """The window the incident is in and whether it flaps."""
    row = await conn.fetchrow(
        "UPDATE incidents SET maintenance_id = $2, flapping = $3, updated_at = $4 WHERE id = $1 RETURNING *",
        incident_id,
        maintenance_id,
        flapping,
        now,
    )
    return Incident.from_record(row)


async def touch(conn: asyncpg.Connection, incident_id: int, now: datetime) -> None:
    """Mark the incident as changed now."""
    await conn.execute("UPDATE incidents SET updated_at = $2 WHERE id = $1", incident_id, now)


def record_values(row: Any) -> dict[str, Any]:
    """A record as a plain dict."""
    return dict(row.items())
