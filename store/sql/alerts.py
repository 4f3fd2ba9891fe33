"""Queries on the alerts table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

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


# Many rows as one statement parameter: a JSON array of arrays, read back as a table in SQL.
#
# asyncpg encodes an array parameter element by element, with isinstance checks on each; for the thousands of
# alerts of a resent group that cost more CPU than everything else in the statement (52 ms of client CPU to
# look up 5,000 alerts, against 16 ms as one JSON text encoded in a single orjson call).


def json_rows(rows: Iterable[Sequence[Any]]) -> str:
    """The rows (of str, int, bool, None, dicts and aware datetimes) as one JSON text."""
    return orjson.dumps(list(rows)).decode()


def rows_table(param: str, columns: Sequence[tuple[str, str]], ordinality: str | None = None) -> str:
    """SQL reading the JSON text parameter `param` (json_rows) as a table with these (name, type) columns;
    a jsonb column's JSON null is SQL NULL, as for every other type; `ordinality` names a 1-based row number."""
    fields = [
        f"nullif(r.e -> {i}, 'null'::jsonb) AS {name}" if kind == "jsonb" else f"(r.e ->> {i})::{kind} AS {name}"
        for i, (name, kind) in enumerate(columns)
    ]
    if ordinality:
        fields.append(f"r.n AS {ordinality}")
    # unnest of an array is planned as 10 rows (jsonb_array_elements as 100): few enough that joins look each
    # row up by index instead of reading a small table whole
    source = f"unnest(ARRAY(SELECT jsonb_array_elements({param}::text::jsonb))) WITH ORDINALITY AS r(e, n)"
    return f"SELECT {', '.join(fields)} FROM {source}"  # noqa: S608 - names and types come from the callers' constants


RECEIPT_EVERY = timedelta(seconds=10)  # a repeat's receipt is written at most this often per alert

_REPEAT_KEYS = rows_table("$1", [("fingerprint", "text"), ("starts_at", "timestamptz"), ("status", "text"),
                                 ("annotations", "jsonb"), ("generator_url", "text"), ("target", "bigint")], "pos")
_IDENTITIES = rows_table("$1", [("fingerprint", "text"), ("starts_at", "timestamptz")])
_NEW_ALERTS = rows_table("$1", [("incident_id", "bigint"), ("fingerprint", "text"), ("starts_at", "timestamptz"),
                                ("ends_at", "timestamptz"), ("status", "text"), ("labels", "jsonb"),
                                ("annotations", "jsonb"), ("generator_url", "text")])
_KNOWN_CHANGES = rows_table("$1", [("id", "bigint"), ("incident_id", "bigint"), ("status", "text"),
                                   ("ends_at", "timestamptz"), ("labels", "jsonb"), ("annotations", "jsonb"),
                                   ("generator_url", "text")])


async def count_repeats(
    conn: asyncpg.Connection, alerts: list[AlertSignal], targets: list[int | None], now: datetime
) -> tuple[dict[int, int], set[int]]:
    """Find the alerts stored exactly as given (in their target incident, or anywhere for None): repeats.

    A repeat changes nothing but its receipt (alert_receipts, shown as the alert's `last_received_at` and
    `receive_count`), written when the last one is older than RECEIPT_EVERY: an Alertmanager pair's second
    copy, or a resend moments later, writes nothing at all. One round trip. Returns ({position of a repeat:
    its incident}, positions of the other alerts that are stored already, as last committed).
    """
    rows = await conn.fetch(
        f"""
        WITH k AS ({_REPEAT_KEYS}),
        found AS (
            SELECT k.pos, a.id, a.incident_id, greatest(a.last_received_at, r.last_received_at) AS last_received_at,
                   a.status = k.status AND a.annotations = k.annotations AND a.generator_url = k.generator_url
                   AND (k.target IS NULL OR a.incident_id = k.target) AS same
            FROM k JOIN alerts a ON a.fingerprint = k.fingerprint AND a.starts_at = k.starts_at
            LEFT JOIN alert_receipts r ON r.alert_id = a.id
        ),
        receipts AS (  -- in id order, as every writer takes rows, so writers never deadlock here
            INSERT INTO alert_receipts AS r (alert_id, last_received_at, repeats)
            SELECT f.id, $2, 1 FROM found f WHERE f.same AND f.last_received_at < $3 ORDER BY f.id
            ON CONFLICT (alert_id) DO UPDATE SET last_received_at = excluded.last_received_at, repeats = r.repeats + 1
                WHERE r.last_received_at < $3  -- not again when an Alertmanager pair's other copy just wrote it
            RETURNING r.alert_id
        )
        SELECT f.pos, f.incident_id, f.same FROM found f
        """,  # noqa: S608 - only module constants are spliced in; values are parameters
        json_rows(
            (a.fingerprint, a.starts_at, a.status, a.annotations, a.generator_url, target)
            for a, target in zip(alerts, targets, strict=True)
        ),
        now,
        now - RECEIPT_EVERY,
    )
    repeated = {r["pos"] - 1: r["incident_id"] for r in rows if r["same"]}
    return repeated, {r["pos"] - 1 for r in rows if not r["same"]}


async def lock_known(conn: asyncpg.Connection, alerts: list[AlertSignal]) -> list[Stored]:
    """Lock and read the stored rows of these identities (those another writer inserted meanwhile)."""
    rows = await conn.fetch(
        f"""
        SELECT {_STORED} FROM alerts a
        JOIN ({_IDENTITIES}) AS k ON a.fingerprint = k.fingerprint AND a.starts_at = k.starts_at
        ORDER BY a.id
        FOR NO KEY UPDATE OF a
        """,  # noqa: S608 - only module constants are spliced in; values are parameters
        json_rows((a.fingerprint, a.starts_at) for a in alerts),
    )
    return [_stored(r) for r in rows]


async def insert_new(
    conn: asyncpg.Connection, incident_ids: list[int], alerts: list[AlertSignal], now: datetime
) -> tuple[dict[tuple[str, datetime], int], list[Stored]]:
    """Insert alert instances (each into its incident), leaving out identities another writer stored first,
    and resolve the older firing instances of their fingerprints: Alertmanager holds one alert per
    fingerprint, so an older instance ended when the newer one started.

    Returns the new rows' ids by identity, and the superseded rows as they are now.
    """
    rows = await conn.fetch(
        f"""
        WITH inserted AS (
            INSERT INTO alerts (incident_id, fingerprint, starts_at, ends_at, status, labels, annotations,
                                generator_url, created_at, updated_at, last_received_at)
            SELECT k.incident_id, k.fingerprint, k.starts_at, k.ends_at, k.status, k.labels, k.annotations,
                   k.generator_url, $2, $2, $2
            FROM ({_NEW_ALERTS}) AS k
            ORDER BY k.fingerprint, k.starts_at
            ON CONFLICT ON CONSTRAINT alerts_identity DO NOTHING
            RETURNING id, fingerprint, starts_at
        ),
        superseded AS (
            UPDATE alerts a SET status = 'resolved', ends_at = s.next_start, updated_at = $2
            FROM (
                SELECT o.id, min(i.starts_at) AS next_start
                FROM inserted i CROSS JOIN LATERAL (
                    -- looked up per new row (OFFSET 0 keeps it a lookup): never a scan of every firing alert
                    SELECT o.id FROM alerts o
                    WHERE o.status = 'firing' AND o.fingerprint = i.fingerprint AND o.starts_at < i.starts_at
                    OFFSET 0
                ) AS o
                GROUP BY o.id
            ) AS s
            WHERE a.id = s.id AND a.status = 'firing'
            RETURNING {_STORED}
        )
        SELECT true AS new, id, NULL::bigint AS incident_id, fingerprint, starts_at, NULL AS status,
               NULL::jsonb AS labels, NULL::jsonb AS annotations, NULL AS generator_url
        FROM inserted
        UNION ALL
        SELECT false, * FROM superseded
        """,  # noqa: S608 - only module constants are spliced in; values are parameters
        json_rows(
            (incident_id, a.fingerprint, a.starts_at, a.ends_at, a.status, a.labels, a.annotations, a.generator_url)
            for incident_id, a in zip(incident_ids, alerts, strict=True)
        ),
        now,
    )
    ids = {(r["fingerprint"], r["starts_at"]): r["id"] for r in rows if r["new"]}
    superseded = sorted((_stored(r) for r in rows if not r["new"]), key=lambda s: s.id)
    return ids, superseded


async def update_known(
    conn: asyncpg.Connection, ids: list[int], incident_ids: list[int], changed: list[AlertSignal | None],
    now: datetime,
) -> None:
    """Count a receipt of each row; move it to its incident and take the new state where `changed` gives one."""
    await conn.execute(
        f"""
        UPDATE alerts a
        SET incident_id = k.incident_id,
            status = coalesce(k.status, a.status),
            ends_at = CASE WHEN k.status IS NULL THEN a.ends_at ELSE k.ends_at END,
            labels = coalesce(k.labels, a.labels),
            annotations = coalesce(k.annotations, a.annotations),
            generator_url = coalesce(k.generator_url, a.generator_url),
            updated_at = CASE WHEN k.status IS DISTINCT FROM NULL AND k.status <> a.status THEN $2
                              ELSE a.updated_at END,
            last_received_at = $2,
            receive_count = a.receive_count + 1
        FROM ({_KNOWN_CHANGES}) AS k
        WHERE a.id = k.id
        """,  # noqa: S608 - only module constants are spliced in; values are parameters
        json_rows(
            (row_id, incident_id) + ((c.status, c.ends_at, c.labels, c.annotations, c.generator_url) if c else ())
            for row_id, incident_id, c in zip(ids, incident_ids, changed, strict=True)
        ),
        now,
    )


# What an alert must have to be picked for each kind (store/domain/derived.py PICKS).
_HAVING = {
    "text": "(coalesce(a.annotations ->> 'summary', '') <> '' OR coalesce(a.annotations ->> 'description', '') <> '')",
    "source": "a.generator_url <> ''",
    "runbook": "coalesce(a.annotations ->> 'runbook_url', '') <> ''",
    "dashboard": "coalesce(a.annotations ->> 'dashboard_url', '') <> ''",
    "panel": "coalesce(a.annotations ->> 'panel_url', '') <> ''",
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
        """,  # noqa: S608 - `having` comes from the literal map _HAVING; values are parameters
        incident_id,
    )
    return _stored(row).view() if row else None


async def views_of_incident(conn: asyncpg.Connection, incident_id: int) -> list[AlertView]:
    """What every alert of the incident contributes (only when an alert left it: the one whole read)."""
    rows = await conn.fetch(f"SELECT {_STORED} FROM alerts a WHERE a.incident_id = $1 ORDER BY a.id", incident_id)  # noqa: S608 - _STORED is a module constant; the id is a parameter
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
        "SELECT * FROM alerts_seen WHERE incident_id = $1 ORDER BY id LIMIT $2", incident_id, limit
    )
    return [Alert.from_record(r) for r in rows]


async def latest_instance(conn: asyncpg.Connection, fingerprint: str) -> Alert | None:
    """The newest instance of a fingerprint (by its start), if any."""
    row = await conn.fetchrow(
        "SELECT * FROM alerts_seen WHERE fingerprint = $1 ORDER BY starts_at DESC LIMIT 1", fingerprint
    )
    return Alert.from_record(row) if row else None
