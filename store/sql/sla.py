"""Queries of SLA tracking: open incidents with the breaches recorded for their current trigger, recording a
breach once, and the SLA report (one pass over the window of incidents, grouped in SQL)."""

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


async def open_incidents(conn: asyncpg.Connection) -> list[OpenIncident]:
    """Every incident not resolved (index incidents_open_status) and its recorded breaches."""
    rows = await conn.fetch(
        """
        SELECT i.id, i.route_id, i.severity, i.status, i.triggered_at, i.acknowledged_at, i.resolved_at,
               coalesce(array_agg(b.kind) FILTER (WHERE b.kind IS NOT NULL), '{}') AS recorded
        FROM incidents i
        LEFT JOIN sla_breaches b ON b.incident_id = i.id AND b.triggered_at = i.triggered_at
        WHERE i.status <> 'resolved'
        GROUP BY i.id
        ORDER BY i.id
        """
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


@dataclass(frozen=True, slots=True)
class Report:
    """A row per group, a row per week, and the total."""

    groups: list[ReportRow]
    weekly: list[ReportRow]
    total: ReportRow


GROUPS = {
    "route": "i.route_id",
    "severity": "i.severity",
    "team": "i.labels ->> 'team'",
}
# One pass over the window's incidents (an index-only scan of incidents_sla_report for route and severity) gives
# every row: per group, per week (UTC, from Monday) and the total. Each incident is measured against its target,
# the route's, else its severity's (CASE over parameters, cheaper per row than a join). The fenced subquery
# (OFFSET 0) computes each row's figures once: met (1), breached (0) or not measured (NULL), in float8 seconds
# (date_part; numeric extract costs several times more). An open incident counts as breached once its due time
# has passed, and not at all before. Weeks count from Monday 1970-01-05 (epoch 345,600 s) in steps of 604,800 s.
REPORT = """
SELECT grp, week, GROUPING(grp, week) AS level, count(*) AS incidents,
       coalesce(sum(ack_state), 0) AS ack_met, coalesce(count(ack_state) - sum(ack_state), 0) AS ack_breached,
       coalesce(sum(resolve_state), 0) AS resolve_met,
       coalesce(count(resolve_state) - sum(resolve_state), 0) AS resolve_breached,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY tta) AS mtta,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY ttr) AS mttr
FROM (
    SELECT grp, week, tta, ttr,
           CASE WHEN answered <= ack_target THEN 1
                WHEN answered > ack_target OR (answered IS NULL AND age >= ack_target) THEN 0 END AS ack_state,
           CASE WHEN ttr <= resolve_target THEN 1
                WHEN ttr > resolve_target OR (ttr IS NULL AND age >= resolve_target) THEN 0 END AS resolve_state
    FROM (
        SELECT {group} AS grp,
               floor((date_part('epoch', i.created_at) - 345600) / 604800) AS week,
               date_part('epoch', coalesce(i.acknowledged_at, i.resolved_at) - i.triggered_at) AS answered,
               date_part('epoch', i.acknowledged_at - i.triggered_at) AS tta,
               date_part('epoch', i.resolved_at - i.triggered_at) AS ttr,
               date_part('epoch', $3::timestamptz - i.triggered_at) AS age,
               {ack_target} AS ack_target,
               {resolve_target} AS resolve_target
        FROM incidents i
        WHERE i.created_at >= $1 AND i.created_at < $2
        OFFSET 0
    ) AS timed
) AS measured
GROUP BY GROUPING SETS ((grp), (week), ())
"""
BY_GROUP, BY_WEEK, TOTAL = 1, 2, 3  # GROUPING(grp, week): a bit per column left out
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


def report_sql(group_by: str, targets: Targets, params: list[object]) -> str:
    """The report query grouping by route, severity or team; appends its target parameters to `params`."""
    ack = _target_case(targets, targets.ack, params)
    resolve = _target_case(targets, targets.resolve, params)
    return REPORT.format(group=GROUPS[group_by], ack_target=ack, resolve_target=resolve)


def week_start(index: float) -> date:
    """The Monday (UTC) that starts week `index` of the report query."""
    return (datetime(1970, 1, 5, tzinfo=UTC) + timedelta(weeks=int(index))).date()


def _pair(values: list[float] | None) -> tuple[float, float] | None:
    if not values or values[0] is None:
        return None
    return float(values[0]), float(values[1])


async def report(
    conn: asyncpg.Connection, since: datetime, until: datetime, group_by: str, targets: Targets, now: datetime
) -> Report:
    """The figures of incidents created in [since, until): per group, per week and in total."""
    async with conn.transaction(readonly=True):
        await conn.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        params: list[object] = [since, until, now]
        sql = report_sql(group_by, targets, params)
        rows = await conn.fetch(sql, *params)
    found: dict[int, list[ReportRow]] = {BY_GROUP: [], BY_WEEK: [], TOTAL: []}
    for r in rows:
        level = r["level"]
        found[level].append(ReportRow(
            week_start(r["week"]) if level == BY_WEEK else r["grp"], level == TOTAL, r["incidents"], r["ack_met"],
            r["ack_breached"], r["resolve_met"], r["resolve_breached"], _pair(r["mtta"]), _pair(r["mttr"])))
    return Report(found[BY_GROUP], found[BY_WEEK], found[TOTAL][0])
