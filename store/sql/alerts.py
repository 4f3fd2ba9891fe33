"""Queries on the alerts table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from store.domain.alerts import AlertSignal
from store.domain.derived import AlertView
from store.models import Alert


@dataclass(frozen=True, slots=True)
class Stored:
    """An alert row as ingest needs it: identity, incident and what it contributes to that incident."""

    id: int
    incident_id: int
    fingerprint: str
    starts_at: datetime
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str

    def view(self, status: str | None = None) -> AlertView:
        """Its contribution to its incident (as it was with `status`, when given)."""
        return AlertView.of(self.id, status or self.status, self.labels, self.annotations, self.generator_url)


_STORED = "a.id, a.incident_id, a.fingerprint, a.starts_at, a.status, a.labels, a.annotations, a.generator_url"


def _stored(row: Any) -> Stored:
    return Stored(row["id"], row["incident_id"], row["fingerprint"], row["starts_at"], row["status"],
                  row["labels"], row["annotations"], row["generator_url"])


async def lock_known_and_supersede(
    conn: asyncpg.Connection, alerts: list[AlertSignal], now: datetime
) -> tuple[list[Stored], list[Stored]]:
    """Lock the stored rows of these identities, and resolve older firing instances of their fingerprints.

    Alertmanager holds one alert per fingerprint, so an instance that started earlier than one of these
    has ended when the newer one started. Returns (known rows as they were, superseded rows as they are
    now). One round trip; each part probes an index per alert, whatever the table's size.
    """
    rows = await conn.fetch(
        f"""
        WITH k AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS k(fingerprint, starts_at)),
        superseded AS (
            UPDATE alerts a SET status = 'resolved', ends_at = s.next_start, updated_at = $3
            FROM (
                SELECT o.id, min(k.starts_at) AS next_start
                FROM k JOIN alerts o
                  ON o.status = 'firing' AND o.fingerprint = k.fingerprint AND o.starts_at < k.starts_at
                WHERE NOT EXISTS (SELECT 1 FROM k AS mine WHERE mine.fingerprint = o.fingerprint
                                                          AND mine.starts_at = o.starts_at)
                GROUP BY o.id
            ) AS s
            WHERE a.id = s.id AND a.status = 'firing'
            RETURNING {_STORED}
        ),
        known AS (
            SELECT {_STORED} FROM alerts a
            WHERE a.id IN (
                SELECT x.id FROM k, LATERAL (
                    SELECT id FROM alerts WHERE fingerprint = k.fingerprint AND starts_at = k.starts_at
                ) AS x
            )
            ORDER BY a.id
            FOR NO KEY UPDATE OF a
        )
        SELECT true AS known, * FROM known
        UNION ALL
        SELECT false, * FROM superseded
        """,
        [a.fingerprint for a in alerts],
        [a.starts_at for a in alerts],
        now,
    )
    known = [_stored(r) for r in rows if r["known"]]
    superseded = sorted((_stored(r) for r in rows if not r["known"]), key=lambda s: s.id)
    return known, superseded


async def lock_known(conn: asyncpg.Connection, alerts: list[AlertSignal]) -> list[Stored]:
    """Lock and read the stored rows of these identities (those another writer inserted meanwhile)."""
    rows = await conn.fetch(
        f"""
        SELECT {_STORED} FROM alerts a
        JOIN unnest($1::text[], $2::timestamptz[]) AS k(fingerprint, starts_at)
          ON a.fingerprint = k.fingerprint AND a.starts_at = k.starts_at
        ORDER BY a.id
        FOR NO KEY UPDATE OF a
        """,
        [a.fingerprint for a in alerts],
        [a.starts_at for a in alerts],
    )
    return [_stored(r) for r in rows]


async def insert_new(
    conn: asyncpg.Connection, incident_ids: list[int], alerts: list[AlertSignal], now: datetime
) -> dict[tuple[str, datetime], int]:
    """Insert alert instances (each into its incident); identities another writer stored first are left out.

    Returns the new rows' ids by identity.
    """
    rows = await conn.fetch(
        """
        INSERT INTO alerts (incident_id, fingerprint, starts_at, ends_at, status, labels, annotations,
                            generator_url, created_at, updated_at, last_received_at)
        SELECT k.incident_id, k.fingerprint, k.starts_at, k.ends_at, k.status, k.labels, k.annotations,
               k.generator_url, $9, $9, $9
        FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::jsonb[],
                    $7::jsonb[], $8::text[])
             AS k(incident_id, fingerprint, starts_at, ends_at, status, labels, annotations, generator_url)
        ORDER BY k.fingerprint, k.starts_at
        ON CONFLICT ON CONSTRAINT alerts_identity DO NOTHING
        RETURNING id, fingerprint, starts_at
        """,
        incident_ids,
        [a.fingerprint for a in alerts],
        [a.starts_at for a in alerts],
        [a.ends_at for a in alerts],
        [a.status for a in alerts],
        [a.labels for a in alerts],
        [a.annotations for a in alerts],
        [a.generator_url for a in alerts],
        now,
    )
    return {(r["fingerprint"], r["starts_at"]): r["id"] for r in rows}


async def update_known(
    conn: asyncpg.Connection, ids: list[int], incident_ids: list[int], changed: list[AlertSignal | None],
    now: datetime,
) -> None:
    """Count a receipt of each row; move it to its incident and take the new state where `changed` gives one."""
    def pick(attr: str) -> list[Any]:
        return [getattr(c, attr) if c is not None else None for c in changed]

    await conn.execute(
        """
        UPDATE alerts a
        SET incident_id = k.incident_id,
            status = coalesce(k.status, a.status),
            ends_at = CASE WHEN k.status IS NULL THEN a.ends_at ELSE k.ends_at END,
            labels = coalesce(k.labels, a.labels),
            annotations = coalesce(k.annotations, a.annotations),
            generator_url = coalesce(k.generator_url, a.generator_url),
            updated_at = CASE WHEN k.status IS DISTINCT FROM NULL AND k.status <> a.status THEN $8
                              ELSE a.updated_at END,
            last_received_at = $8,
            receive_count = a.receive_count + 1
        FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::jsonb[], $6::jsonb[],
                    $7::text[]) AS k(id, incident_id, status, ends_at, labels, annotations, generator_url)
        WHERE a.id = k.id
        """,
        ids,
        incident_ids,
        pick("status"),
        pick("ends_at"),
        pick("labels"),
        pick("annotations"),
        pick("generator_url"),
        now,
    )


# What an alert must have to be picked for each kind (store/domain/derived.py PICKS).
_HAVING = {
    "text": "(coalesce(a.annotations ->> 'summary', '') <> '' OR coalesce(a.annotations ->> 'description', '') <> '')",
    "source": "a.generator_url <> ''",
    "runbook": "coalesce(a.annotations ->> 'runbook_url', '') <> ''",
}


async def first_having(conn: asyncpg.Connection, incident_id: int, kind: str) -> AlertView | None:
    """The incident's oldest firing alert having a value of `kind`, else its oldest having one.

    It walks the incident's alerts in id order (firing ones first, on their own index) and stops at the
    first that has one: one row when, as usual, the incident's alerts all have it or none does.
    """
    having = _HAVING[kind]
    row = await conn.fetchrow(
        f"""
        SELECT * FROM (
            (SELECT {_STORED} FROM alerts a WHERE a.incident_id = $1 AND a.status = 'firing' AND {having}
             ORDER BY a.id LIMIT 1)
            UNION ALL
            (SELECT {_STORED} FROM alerts a WHERE a.incident_id = $1 AND {having} ORDER BY a.id LIMIT 1)
        ) AS r
        ORDER BY r.status = 'firing' DESC, r.id
        LIMIT 1
        """,
        incident_id,
    )
    return _stored(row).view() if row else None


async def views_of_incident(conn: asyncpg.Connection, incident_id: int) -> list[AlertView]:
    """What every alert of the incident contributes (only when an alert left it: the one whole read)."""
    rows = await conn.fetch(f"SELECT {_STORED} FROM alerts a WHERE a.incident_id = $1 ORDER BY a.id", incident_id)
    return [_stored(r).view() for r in rows]


async def shared_annotation(conn: asyncpg.Connection, incident_id: int, key: str) -> str | None:
    """The value of annotation `key` all of the incident's alerts have ('' when absent), or None.

    It stops at the first alert that differs from the oldest, so it reads few rows unless nearly all agree.
    """
    row = await conn.fetchrow(
        """
        WITH first AS (
            SELECT coalesce(annotations ->> $2, '') AS v FROM alerts WHERE incident_id = $1 ORDER BY id LIMIT 1
        )
        SELECT v, NOT EXISTS (
            SELECT 1 FROM alerts WHERE incident_id = $1 AND coalesce(annotations ->> $2, '') <> first.v
        ) AS everywhere
        FROM first
        """,
        incident_id,
        key,
    )
    return row["v"] if row is not None and row["everywhere"] else None


async def list_for_incident(conn: asyncpg.Connection, incident_id: int, limit: int = 1000) -> list[Alert]:
    """The incident's alerts, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM alerts WHERE incident_id = $1 ORDER BY id LIMIT $2", incident_id, limit
    )
    return [Alert.from_record(r) for r in rows]
