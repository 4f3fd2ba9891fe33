"""Queries on the alerts table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


_UPSERT = """
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
"""


def _upsert_args(incident_id: int, alerts: list[AlertSignal], now: datetime) -> list[Any]:
    return [
        incident_id,
        [a.fingerprint for a in alerts],
        [a.starts_at for a in alerts],
        [a.ends_at for a in alerts],
        [a.status for a in alerts],
        [a.labels for a in alerts],
        [a.annotations for a in alerts],
        [a.generator_url for a in alerts],
        now,
    ]


async def upsert(conn: asyncpg.Connection, incident_id: int, alerts: list[AlertSignal], now: datetime) -> None:
    """Insert new alert instances and update known ones (a repeat never adds a row)."""
    await conn.execute(_UPSERT, *_upsert_args(incident_id, alerts, now))


async def upsert_returning_facts(
    conn: asyncpg.Connection, incident_id: int, alerts: list[AlertSignal], now: datetime
) -> list[AlertFacts]:
    """upsert, answering with the facts of all of the incident's alerts as they are after it (in id order).

    The outer SELECT sees the table as it was before the INSERT, so the rows the INSERT wrote are taken
    from its RETURNING and the others from the table: one round trip instead of two.
    """
    rows = await conn.fetch(
        f"""
        WITH up AS ({_UPSERT} RETURNING a.id, a.status, a.labels, a.annotations, a.generator_url)
        SELECT * FROM up
        UNION ALL
        SELECT id, status, labels, annotations, generator_url FROM alerts
        WHERE incident_id = $1 AND id NOT IN (SELECT id FROM up)
        ORDER BY id
        """,  # noqa: S608 - only the module's constant _UPSERT is spliced in; values are $n parameters
        *_upsert_args(incident_id, alerts, now),
    )
    return [AlertFacts(r["status"], r["labels"], r["annotations"], r["generator_url"]) for r in rows]


async def resolve_superseded(
    conn: asyncpg.Connection, alerts: list[AlertSignal], now: datetime
) -> list[Alert]:
    """Resolve older firing instances of these fingerprints: Alertmanager holds one alert per fingerprint.

    An older instance ends when the next newer one started; the rows come back in id order.
    """
    rows = await conn.fetch(
        """
        UPDATE alerts a SET status = 'resolved', ends_at = s.next_start, updated_at = $3
        FROM (
            SELECT o.id, min(k.starts_at) AS next_start
            FROM unnest($1::text[], $2::timestamptz[]) AS k(fingerprint, starts_at)
            JOIN alerts o ON o.status = 'firing' AND o.fingerprint = k.fingerprint AND o.starts_at < k.starts_at
            GROUP BY o.id
        ) AS s
        WHERE a.id = s.id AND a.status = 'firing'
        RETURNING a.*
        """,
        [a.fingerprint for a in alerts],
        [a.starts_at for a in alerts],
        now,
    )
    return sorted((Alert.from_record(r) for r in rows), key=lambda a: a.id)


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
