"""Statistics over a window of incidents: counts, time to acknowledge and resolve, opened and resolved per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class Durations:
    """Mean, median and 90th percentile in seconds (None when nothing was measured)."""

    mean: float | None
    p50: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts and timings of incidents created since a time, and daily activity."""

    by_status: dict[str, int]
    by_severity: dict[str, int]
    mtta: Durations
    mttr: Durations
    daily: list[tuple[date, int, int]]


# One pass over the window, read from the covering index incidents_stats.
SUMMARY = """
SELECT status, severity, count(*) AS n,
       sum(extract(epoch FROM acknowledged_at - triggered_at)) FILTER (WHERE acknowledged_at IS NOT NULL) AS ack_sum,
       count(acknowledged_at) AS ack_n,
       sum(extract(epoch FROM resolved_at - triggered_at)) FILTER (WHERE resolved_at IS NOT NULL) AS res_sum,
       count(resolved_at) AS res_n
FROM incidents WHERE created_at >= $1 AND created_at < $2
GROUP BY status, severity
"""

# Both percentiles in one pass over the window.
PERCENTILES = """
SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - triggered_at))
           FILTER (WHERE acknowledged_at IS NOT NULL) AS ack,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - triggered_at))
           FILTER (WHERE resolved_at IS NOT NULL) AS res
FROM incidents WHERE created_at >= $1 AND created_at < $2
"""

DAILY = """
WITH days AS (
    SELECT generate_series(($1 AT TIME ZONE 'UTC')::date, ($2 AT TIME ZONE 'UTC')::date, interval '1 day')::date AS day
),
opened AS (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
    FROM incidents WHERE created_at >= $1 AND created_at < $2 GROUP BY 1
),
resolved AS (
    SELECT (resolved_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
    FROM incidents WHERE resolved_at >= $1 AND resolved_at < $2 GROUP BY 1
)
SELECT days.day, coalesce(opened.n, 0) AS opened, coalesce(resolved.n, 0) AS resolved
FROM days LEFT JOIN opened USING (day) LEFT JOIN resolved USING (day)
ORDER BY days.day
"""


def _durations(total: float, count: int, pcts: list[float] | None) -> Durations:
    if count == 0 or not pcts:
        return Durations(None, None, None)
    return Durations(float(total) / count, float(pcts[0]), float(pcts[1]))


async def window_stats(conn: asyncpg.Connection, since: datetime, until: datetime) -> Stats:
    """Stats of incidents created in [since, until), and daily opened/resolved counts."""
    by_status: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    ack_sum = res_sum = 0.0
    ack_n = res_n = 0
    for r in await conn.fetch(SUMMARY, since, until):
        by_status[r["status"]] = by_status.get(r["status"], 0) + r["n"]
        by_severity[r["severity"]] = by_severity.get(r["severity"], 0) + r["n"]
        ack_sum += float(r["ack_sum"] or 0)
        ack_n += r["ack_n"]
        res_sum += float(r["res_sum"] or 0)
        res_n += r["res_n"]
    pcts = await conn.fetchrow(PERCENTILES, since, until) if ack_n or res_n else None
    ack_pcts = pcts["ack"] if pcts else None
    res_pcts = pcts["res"] if pcts else None
    daily = [(r["day"], r["opened"], r["resolved"]) for r in await conn.fetch(DAILY, since, until)]
    return Stats(by_status, by_severity, _durations(ack_sum, ack_n, ack_pcts), _durations(res_sum, res_n, res_pcts),
                 daily)


async def open_counts(conn: asyncpg.Connection) -> list[tuple[str, str, int]]:
    """(status, severity, count) of the incidents not resolved: for the metrics gauge."""
    rows = await conn.fetch(
        "SELECT status, severity, count(*) AS n FROM incidents WHERE status <> 'resolved' GROUP BY 1, 2"
    )
    return [(r["status"], r["severity"], r["n"]) for r in rows]


# Per day of creation (UTC), from the covering index incidents_stats; avg() skips the unmeasured (NULL) ones.
DAILY_DURATIONS = """
SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
       avg(extract(epoch FROM acknowledged_at - triggered_at)) AS mtta,
       avg(extract(epoch FROM resolved_at - triggered_at)) AS mttr
FROM incidents WHERE created_at >= $1 AND created_at < $2
GROUP BY 1 ORDER BY 1
"""


async def daily_durations(
    conn: asyncpg.Connection, since: datetime, until: datetime
) -> list[tuple[date, float | None, float | None]]:
    """(day, mean seconds to acknowledge, mean seconds to resolve) of incidents created each day in the window."""
    rows = await conn.fetch(DAILY_DURATIONS, since, until)
    return [
        (r["day"], None if r["mtta"] is None else float(r["mtta"]), None if r["mttr"] is None else float(r["mttr"]))
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Backlog:
    """Unsent messages of one channel in one state, and how long the oldest has waited (seconds)."""

    channel: str
    state: str
    count: int
    oldest_age: float


async def delivery_backlog(conn: asyncpg.Connection) -> list[Backlog]:
    """The outbox's unsent messages per channel and state (pending, sending, failed), from the deliveries_unfinished
    index."""
    rows = await conn.fetch(
        """
        SELECT channel, state, count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest
        FROM deliveries WHERE state <> 'sent' GROUP BY channel, state
        """
    )
    return [Backlog(r["channel"], r["state"], r["n"], max(0.0, r["oldest"])) for r in rows]


async def escalation_lag(conn: asyncpg.Connection) -> tuple[int, float]:
    """Escalation steps due but not yet fired: how many, and how long the most overdue has waited (seconds)."""
    row = await conn.fetchrow(
        """
        SELECT count(*) AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(next_due_at)), 0)::float8 AS lag
        FROM incident_escalations WHERE state = 'active' AND next_due_at <= now()
        """
    )
    return row["n"], max(0.0, row["lag"])


async def quiet_counts(conn: asyncpg.Connection) -> tuple[int, int, int]:
    """Open incidents in a maintenance window, open incidents flapping, and groups flapping."""
    row = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM incidents WHERE maintenance_id IS NOT NULL AND status <> 'resolved') AS windows,
               (SELECT count(*) FROM incidents WHERE flapping AND status <> 'resolved') AS flapping,
               (SELECT count(*) FROM group_flaps WHERE flapping_since IS NOT NULL) AS groups
        """
    )
    return row["windows"], row["flapping"], row["groups"]
