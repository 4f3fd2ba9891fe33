"""Queries on the incidents table. Each takes a connection first and never commits."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    row = await conn.fetchrow(f"SELECT * FROM incidents WHERE id = $1{lock}", incident_id)  # noqa: S608 - `lock` is one of two literals; the id is a parameter
    if row is None:
        raise NotFound.incident(incident_id)
    return Incident.from_record(row)


@dataclass(frozen=True, slots=True)
class NewIncident:
    """A triggered incident to open for a group."""

    group_key: str
    route_id: str
    source: str
    title: str
    severity: str
    group_labels: dict[str, str]
    external_url: str
    auto_resolve: bool
    channels: dict[str, Any]
    maintenance_id: str | None = None  # the maintenance window it opens in
    labels: dict[str, str] = field(default_factory=dict)  # as its alerts will give them (see Tick._opening)
    summary: str = ""


async def insert_open_many(conn: asyncpg.Connection, new: list[NewIncident], now: datetime) -> dict[str, Held]:
    """Open these groups' incidents in one statement; a group that already has an open one (another writer
    won) is left out of the answer, which is keyed by group key."""
    rows = await conn.fetch(
        """
        INSERT INTO incidents (group_key, route_id, source, status, severity, title, group_labels, external_url,
                               auto_resolve, created_at, updated_at, triggered_at, channels, maintenance_id, labels,
                               summary)
        SELECT k.group_key, k.route_id, k.source, 'triggered', k.severity, k.title, k.group_labels, k.external_url,
               k.auto_resolve, $10, $10, $10, k.channels, k.maintenance_id, k.labels, k.summary
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[],
                    $8::bool[], $9::jsonb[], $11::text[], $12::jsonb[], $13::text[])
             AS k(group_key, route_id, source, severity, title, group_labels, external_url, auto_resolve, channels,
                  maintenance_id, labels, summary)
        ORDER BY k.group_key
        ON CONFLICT (group_key) WHERE status <> 'resolved' DO NOTHING
        RETURNING *, xmin::text AS version
        """,
        [n.group_key for n in new],
        [n.route_id for n in new],
        [n.source for n in new],
        [n.severity for n in new],
        [n.title for n in new],
        [n.group_labels for n in new],
        [n.external_url for n in new],
        [n.auto_resolve for n in new],
        [n.channels for n in new],
        now,
        [n.maintenance_id for n in new],
        [n.labels for n in new],
        [n.summary for n in new],
    )
    return {r["group_key"]: _held(r) for r in rows}


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
) -> Held | None:
    """Insert a triggered incident; None when the group already has an open one (another writer won)."""
    row = await conn.fetchrow(
        """
        INSERT INTO incidents (group_key, route_id, source, status, severity, title, description,
                               group_labels, external_url, auto_resolve,
                               created_at, updated_at, triggered_at, channels)
        VALUES ($1, $2, $3, 'triggered', $4, $5, $6, $7, $8, $9, $10, $10, $10, $11)
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
        f"SELECT *, xmin::text AS version FROM incidents WHERE id = ANY($1::bigint[]){clause}", incident_ids  # noqa: S608 - `clause` is one of two literals; ids are a parameter
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
) -> Incident | None:
    """Store the fields derived from the incident's alerts (and resolve it, when `resolve`), if it is still
    the version read; None when someone changed it meanwhile. The row is locked from here to the commit."""
    row = await conn.fetchrow(
        """
        UPDATE incidents
        SET title = $3, severity = $4, labels = $5, summary = $6, links = $7,
            alert_count = $8, firing_alert_count = $9, derived = $10,
            external_url = CASE WHEN $11 = '' THEN external_url ELSE $11 END, updated_at = $12,
            status = CASE WHEN $13 THEN 'resolved' ELSE status END,
            resolved_at = CASE WHEN $13 THEN $12 ELSE resolved_at END,
            resolved_by = CASE WHEN $13 THEN $14 ELSE resolved_by END
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
    )
    return Incident.from_record(row) if row else None


@dataclass(frozen=True, slots=True)
class DerivedUpdate:
    """What apply_derived_many writes to one incident (read at `held.version`)."""

    held: Held
    fields: IncidentFields
    derived: dict[str, Any]
    external_url: str
    resolve: bool
    maintenance_id: str | None = None  # the window it is in after this transaction
    flapping: bool = False
    resolver: str = "alertmanager"  # who an auto-resolve is recorded as (the sender of the last alert)


async def apply_derived_many(conn: asyncpg.Connection, updates: list[DerivedUpdate], now: datetime) -> set[int]:
    """apply_derived for several incidents in one statement, locking them in id order (so concurrent writers
    never deadlock on them); returns the ids written. The others changed since they were read."""
    if not updates:
        return set()
    rows = await conn.fetch(
        """
        WITH k AS (
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[],
                                 $7::jsonb[], $8::int[], $9::int[], $10::jsonb[], $11::text[], $12::bool[],
                                 $14::text[], $15::text[], $16::bool[])
                AS k(id, version, title, severity, labels, summary, links, alert_count, firing_count, derived,
                     external_url, resolve, resolver, maintenance_id, flapping)
        ),
        locked AS (SELECT i.id FROM incidents i JOIN k ON k.id = i.id ORDER BY i.id FOR NO KEY UPDATE OF i)
        UPDATE incidents i
        SET title = k.title, severity = k.severity, labels = k.labels, summary = k.summary, links = k.links,
            alert_count = k.alert_count, firing_alert_count = k.firing_count, derived = k.derived,
            external_url = CASE WHEN k.external_url = '' THEN i.external_url ELSE k.external_url END,
            updated_at = $13,
            status = CASE WHEN k.resolve THEN 'resolved' ELSE i.status END,
            resolved_at = CASE WHEN k.resolve THEN $13 ELSE i.resolved_at END,
            resolved_by = CASE WHEN k.resolve THEN k.resolver ELSE i.resolved_by END,
            maintenance_id = k.maintenance_id, flapping = k.flapping
        FROM k JOIN locked ON locked.id = k.id
        WHERE i.id = k.id AND i.xmin::text = k.version
        RETURNING i.id
        """,
        [u.held.incident.id for u in updates],
        [u.held.version for u in updates],
        [u.fields.title for u in updates],
        [u.fields.severity for u in updates],
        [u.fields.labels for u in updates],
        [u.fields.summary for u in updates],
        [u.fields.links for u in updates],
        [u.fields.alert_count for u in updates],
        [u.fields.firing_count for u in updates],
        [u.derived for u in updates],
        [u.external_url for u in updates],
        [u.resolve for u in updates],
        now,
        [u.resolver for u in updates],
        [u.maintenance_id for u in updates],
        [u.flapping for u in updates],
    )
    return {r["id"] for r in rows}


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


async def add_ticket(conn: asyncpg.Connection, incident_id: int, ticket: dict[str, str], now: datetime) -> Incident:
    """Append an issue opened elsewhere to the incident's tickets."""
    row = await conn.fetchrow(
        "UPDATE incidents SET tickets = tickets || jsonb_build_array($2::jsonb), updated_at = $3 WHERE id = $1 "
        "RETURNING *",
        incident_id,
        ticket,
        now,
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
