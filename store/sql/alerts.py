"""Queries on the alerts table."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from store.domain.alerts import AlertSignal
from store.domain.grouping import AlertFacts
from store.models import Alert


async def lock_instances(conn: asyncpg.Connection, alerts: list[AlertSignal]) -> list[Alert]:
    """Lock the stored alerts with these identities and the older firing instances of their fingerprints.

    One round trip answers both "which of these are repeats" and "will anything be superseded". The
    LATERAL form keeps the plan on the identity and firing-fingerprint indexes whatever the array sizes.
    """
    rows = await conn.fetch(
        """
        SELECT a.* FROM alerts a
        WHERE a.id IN (
            SELECT x.id FROM unnest($1::text[], $2::timestamptz[]) AS k(fingerprint, starts_at),
            LATERAL (
                SELECT id FROM alerts WHERE fingerprint = k.fingerprint AND starts_at = k.starts_at
                UNION ALL
                SELECT id FROM alerts
                WHERE status = 'firing' AND fingerprint = k.fingerprint AND starts_at < k.starts_at
            ) AS x
        )
        ORDER BY a.id
        FOR UPDATE OF a
        """,
        [a.fingerprint for a in alerts],
        [a.starts_at for a in alerts],
    )
    return [Alert.from_record(r) for r in rows]


async def upsert(conn: asyncpg.Connection, incident_id: int, alerts: list[AlertSignal], now: datetime) -> None:
    """Insert new alert instances and update known ones (a repeat never adds a row)."""
    await conn.execute(
        """
        INSERT INTO alerts AS a (incident_id, fingerprint, starts_at, ends_at, status, labels, annotations,
                                 generator_url, created_at, updated_at, last_received_at)
        SELECT $1, k.fingerprint, k.starts_at, k.ends_at, k.status, k.labels, k.annotations, k.generator_url,
               $9, $9, $9
        FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::jsonb[], $7::jsonb[],
                    $8::text[]) AS k(fingerprint, starts_at, ends_at, status, labels, annotations, generator_url)
        ON CONFLICT ON CONSTRAINT alerts_identity DO UPDATE
        SET incident_id = EXCLUDED.incident_id, ends_at = EXCLUDED.ends_at, status = EXCLUDED.status,
            labels = EXCLUDED.labels, annotations = EXCLUDED.annotations,
            generator_url = EXCLUDED.generator_url,
            updated_at = CASE WHEN a.status IS DISTINCT FROM EXCLUDED.status THEN $9 ELSE a.updated_at END,
            last_received_at = $9, receive_count = a.receive_count + 1
        """,
        incident_id,
        [a.fingerprint for a in alerts],
        [a.starts_at for a in alerts],
        [a.ends_at for a in alerts],
        [a.status for a in alerts],
        [a.labels for a in alerts],
        [a.annotations for a in alerts],
        [a.generator_url for a in alerts],
        now,
    )


async def resolve_superseded(
    conn: asyncpg.Connection, alerts: list[AlertSignal], now: datetime
) -> list[Alert]:
    """Resolve older firing instances of these fingerprints: Alertmanager holds one alert per fingerprint."""
    rows = await conn.fetch(
        """
        UPDATE alerts a SET status = 'resolved', ends_at = k.starts_at, updated_at = $3
        FROM unnest($1::text[], $2::timestamptz[]) AS k(fingerprint, starts_at)
        WHERE a.status = 'firing' AND a.fingerprint = k.fingerprint AND a.starts_at < k.starts_at
        RETURNING a.*
        """,
        [a.fingerprint for a in alerts],
        [a.starts_at for a in alerts],
        now,
    )
    return [Alert.from_record(r) for r in rows]


async def facts_of_incident(conn: asyncpg.Connection, incident_id: int) -> list[AlertFacts]:
    """What the incident's derived fields are computed from, for all of its alerts."""
    rows = await conn.fetch(
        "SELECT status, labels, annotations, generator_url FROM alerts WHERE incident_id = $1 ORDER BY id",
        incident_id,
    )
    return [AlertFacts(r["status"], r["labels"], r["annotations"], r["generator_url"]) for r in rows]


async def list_for_incident(conn: asyncpg.Connection, incident_id: int, limit: int = 1000) -> list[Alert]:
    """The incident's alerts, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM alerts WHERE incident_id = $1 ORDER BY id LIMIT $2", incident_id, limit
    )
    return [Alert.from_record(r) for r in rows]
