"""Queries of SLA tracking: open incidents with the breaches recorded for their current trigger, recording a
breach once, and the SLA report (per group, and per week with the total: two statements over the same window,
grouped in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from store.domain.sla import Clock


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """An incident not resolved, with the breach kinds already recorded for its current trigger."""

    id: int
    route_id: str
    severity: str
    status: str
    clock: Clock
    recorded: frozenset[str]


async def open_incidents(conn: asyncpg.Connection, triggered_before: datetime | None = None) -> list[OpenIncident]:
    """Every incident not resolved (index incidents_open_status), triggered at or before `triggered_before` when given,
    and its recorded breaches."""
    rows = await conn.fetch(
        """
        SELECT i.id, i.route_id, i.severity, i.status, i.triggered_at, i.acknowledged_at, i.resolved_at,
               coalesce(array_agg(b.kind) FILTER (WHERE b.kind IS NOT NULL), '{}') AS recorded
        FROM incidents i
        LEFT JOIN sla_breaches b ON b.incident_id = i.id AND b.triggered_at = i.triggered_at
        WHERE i.status <> 'resolved' AND ($1::timestamptz IS NULL OR i.triggered_at <= $1)
        GROUP BY i.id
        ORDER BY i.id
        """,
        triggered_before,
    )
    return [
        OpenIncident(r["id"], r["route_id"], r["severity"], r["status"],
                     Clock(r["triggered_at"], r["acknowledged_at"], r["resolved_at"]), frozenset(r["recorded"]))
        for r in rows
    ]


async def insert_breach(
    conn: asyncpg.Connection, incident_id: int, kind: str, triggered_at: datetime, due_at: datetime, route_id: str
) -> int | None:
    """Record a breach of this trigger; its id, or None when it was already recorded (by any replica)."""
    return await conn.fetchval(
        """
        INSERT INTO sla_breaches (incident_id, kind, triggered_at, due_at, route_id)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (incident_id, kind, triggered_at) DO NOTHING
        RETURNING id
        """,
        incident_id, kind, triggered_at, due_at, route_id,
    )


async def link_event(conn: asyncpg.Connection, breach_id: int, event_id: int) -> None:
    """Note the timeline entry that announced the breach."""
    await conn.execute("UPDATE sla_breaches SET event_id = $2 WHERE id = $1", breach_id, event_id)


async def breaches_of(conn: asyncpg.Connection, incident_id: int) -> list[dict]:
    """The breaches recorded for an incident, oldest first."""
    rows = await conn.fetch(
        "SELECT kind, triggered_at, due_at, created_at FROM sla_breaches WHERE incident_id = $1 ORDER BY id",
        incident_id,
    )
    return [dict(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Targets:
    """The SLA targets in seconds, as arrays for SQL: scope ('route' or 'severity'), key, ack, resolve."""

    scopes: list[str]
    keys: list[str]
    ack: list[float | None]
    resolve: list[float | None]


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One row's figures: a group (None: incidents without that value), a week, or the whole window (total)."""

    group: str | date | None
    total: bool
    incidents: int
    ack_met: int
    ack_breached: int
    resolve_met: int
    resolve_breached: int
    mtta: tuple[float, float] | None  # p50, p90 in seconds
    mttr: tuple[float, float] | None


# Teams are sorted byte-wise (COLLATE "C": the same groups; the per-group statement cost 10% less CPU for 20 teams
# than under a C.UTF-8 database's collation, while route names gained nothing, so they keep it).
GROUPS = {
    "route": "i.route_id",
    "severity": "i.severity",
    "team": 'i.label_team COLLATE "C"',
}
# Each incident of the window as the report measures it, read from the covering index incidents_sla_report (an
# index-only scan; the week and the durations are generated columns, so no date arithmetic per row). Its target is
# the route's, else its severity's (CASE over parameters, cheaper per row than a join). Its state is met (1),
# breached (0) or not measured (NULL): an incident not yet answered (or resolved) counts as breached once its due
# time has passed, and not at all before. OFFSET 0 fences the subquery so each state is computed once, not once
# per aggregate that reads it. Week bounds use the generated column's own formula, so they match it exactly.
MEASURED = """
SELECT {group} AS grp, i.sla_week AS week, i.sla_ack_secs AS tta, i.sla_resolve_secs AS ttr,
       CASE WHEN i.sla_answered_secs IS NOT NULL THEN (i.sla_answered_secs <= {ack_target})::integer
            WHEN date_part('epoch', $3::timestamptz - i.triggered_at) >= {ack_target} THEN 0 END AS ack_state,
       CASE WHEN i.sla_resolve_secs IS NOT NULL THEN (i.sla_resolve_secs <= {resolve_target})::integer
            WHEN date_part('epoch', $3::timestamptz - i.triggered_at) >= {resolve_target} THEN 0 END AS resolve_state
FROM incidents i
WHERE i.sla_week BETWEEN floor(date_part('epoch', $1::timestamptz - timestamptz '1970-01-05Z') / 604800)::integer
                     AND floor(date_part('epoch', $2::timestamptz - timestamptz '1970-01-05Z') / 604800)::integer
  AND i.created_at >= $1 AND i.created_at < $2
{order}
OFFSET 0
"""
FIGURES = """
       count(*) AS incidents,
       coalesce(sum(ack_state), 0) AS ack_met, count(ack_state) - coalesce(sum(ack_state), 0) AS ack_breached,
       coalesce(sum(resolve_state), 0) AS resolve_met,
       count(resolve_state) - coalesce(sum(resolve_state), 0) AS resolve_breached,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY tta) AS mtta,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY ttr) AS mttr
"""
# The report is two statements over the same window (and snapshot), which the service can run at once on two
# connections: per group (its rows sorted by group), and per week with the total (its rows read in week order from
# the index, no sort). Each percentile sorts its values; nothing spills to disk with REPORT_WORK_MEM.
# Built only from this module's constants (the group expression and targets are filled in later, as parameters).
BY_GROUP = f"SELECT grp, {FIGURES} FROM ({MEASURED}) AS measured GROUP BY grp"  # noqa: S608
BY_WEEK = f"SELECT week, GROUPING(week) = 1 AS total, {FIGURES} FROM ({MEASURED}) AS measured GROUP BY ROLLUP (week)"  # noqa: S608
# The sorts of a 90-day window (~100,000 rows) fit in memory with this, instead of spilling to disk.
REPORT_WORK_MEM = "64MB"


def _target_case(targets: Targets, values: list[float | None], params: list[object]) -> str:
    """`CASE route WHEN … ELSE CASE severity WHEN … END END` over the targets of one kind, values as parameters."""

    def branches(scope: str, column: str) -> str:
        whens = []
        for kind, key, value in zip(targets.scopes, targets.keys, values, strict=True):
            if kind == scope and value is not None:
                params.extend([key, value])
                whens.append(f"WHEN ${len(params) - 1}::text THEN ${len(params)}::float8")
        return f"CASE {column} {' '.join(whens)} END" if whens else "NULL::float8"

    return f"coalesce({branches('route', 'i.route_id')}, {branches('severity', 'i.severity')})"


def _report_sql(template: str, group: str, order: str, targets: Targets, params: list[object]) -> str:
    ack = _target_case(targets, targets.ack, params)
    resolve = _target_case(targets, targets.resolve, params)
    return template.format(group=group, order=order, ack_target=ack, resolve_target=resolve)


def by_group_sql(group_by: str, targets: Targets, params: list[object]) -> str:
    """The statement of the per-group rows (route, severity or team); appends its target parameters to `params`
    ([since, until, now] first)."""
    return _report_sql(BY_GROUP, GROUPS[group_by], "", targets, params)


def by_week_sql(targets: Targets, params: list[object]) -> str:
    """The statement of the per-week rows and the total; appends its target parameters to `params`."""
    return _report_sql(BY_WEEK, "NULL::text", "ORDER BY i.sla_week", targets, params)


def week_start(index: float) -> date:
    """The Monday (UTC) that starts week `index` (the sla_week column: week 0 starts on Monday 1970-01-05)."""
    return (datetime(1970, 1, 5, tzinfo=UTC) + timedelta(weeks=int(index))).date()


def _pair(values: list[float] | None) -> tuple[float, float] | None:
    if not values or values[0] is None:
        return None
    return float(values[0]), float(values[1])


def _row(group: str | date | None, total: bool, r: asyncpg.Record) -> ReportRow:
    return ReportRow(group, total, r["incidents"], r["ack_met"], r["ack_breached"], r["resolve_met"],
                     r["resolve_breached"], _pair(r["mtta"]), _pair(r["mttr"]))


async def prepare_report(conn: asyncpg.Connection) -> None:
    """Give the report's sorts their memory for the rest of the transaction."""
    await conn.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")


async def export_snapshot(conn: asyncpg.Connection) -> str:
    """The id of this (repeatable read) transaction's snapshot, for another connection to read the same data."""
    return await conn.fetchval("SELECT pg_export_snapshot()")


async def import_snapshot(conn: asyncpg.Connection, snapshot: str) -> None:
    """Read what the exporting transaction reads (first statement of a repeatable read transaction)."""
    literal = "'" + snapshot.replace("'", "''") + "'"  # SET takes no parameters
    await conn.execute(f"SET TRANSACTION SNAPSHOT {literal}")


async def group_rows(conn: asyncpg.Connection, since: datetime, until: datetime, group_by: str, targets: Targets,
                     now: datetime) -> list[ReportRow]:
    """A row per group (None: incidents without that value) of the incidents created in [since, until)."""
    params: list[object] = [since, until, now]
    rows = await conn.fetch(by_group_sql(group_by, targets, params), *params)
    return [_row(r["grp"], False, r) for r in rows]


async def week_rows(conn: asyncpg.Connection, since: datetime, until: datetime, targets: Targets,
                    now: datetime) -> tuple[list[ReportRow], ReportRow]:
    """A row per week (UTC, from Monday) of the incidents created in [since, until), and their total."""
    params: list[object] = [since, until, now]
    rows = await conn.fetch(by_week_sql(targets, params), *params)
    weekly = [_row(week_start(r["week"]), False, r) for r in rows if not r["total"]]
    (total,) = [_row(None, True, r) for r in rows if r["total"]]
    return weekly, total
