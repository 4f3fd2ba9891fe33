"""The incident and alert lists: filters, sorts and keyset pagination (every hot shape has an index)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from store.models import Alert, Incident

SEVERITY_RANK_SQL = "(CASE severity WHEN 'critical' THEN 4 WHEN 'error' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END)"
STATUS_RANK_SQL = "(CASE status WHEN 'triggered' THEN 3 WHEN 'acknowledged' THEN 2 ELSE 1 END)"


@dataclass(frozen=True, slots=True)
class Sort:
    """One sort order: the key expressions (matching an index), their kinds, and the direction."""

    keys: tuple[str, ...]
    kinds: tuple[str, ...]  # "time" or "int", to check a cursor's values
    descending: bool = True


INCIDENT_SORTS: dict[str, Sort] = {
    "-created_at": Sort(("created_at", "id"), ("time", "int")),
    "created_at": Sort(("created_at", "id"), ("time", "int"), descending=False),
    # by the minute first (migration 0016: its index is not rewritten with every alert), then within it
    "-updated_at": Sort(("updated_minute", "updated_at", "id"), ("int", "time", "int")),
    "severity": Sort((SEVERITY_RANK_SQL, "created_at", "id"), ("int", "time", "int")),
    "status": Sort((STATUS_RANK_SQL, "created_at", "id"), ("int", "time", "int")),
}
ALERT_SORT = Sort(("id",), ("int",))


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Filters of the incident list; None means no filter."""

    status: str | None = None
    severity: str | None = None
    team: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Filters of the alert list; labels must all match."""

    status: str | None = None
    incident_id: int | None = None
    fingerprint: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rows and the sort key of its last row when more follow."""

    items: list[Any]
    next_key: tuple[Any, ...] | None


class _Where:
    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def add(self, template: str, value: Any) -> None:
        self.args.append(value)
        self.clauses.append(template.format(f"${len(self.args)}"))

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "true"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _keyset(where: _Where, sort: Sort, after: tuple[Any, ...] | None) -> None:
    if after is None:
        return
    start = len(where.args)
    where.args.extend(after)
    params = ", ".join(f"${start + i + 1}" for i in range(len(after)))
    op = "<" if sort.descending else ">"
    where.clauses.append(f"({', '.join(sort.keys)}) {op} ({params})")


def _order(sort: Sort) -> str:
    direction = "DESC" if sort.descending else "ASC"
    return ", ".join(f"{k} {direction}" for k in sort.keys)


def incident_query(
    filters: IncidentFilter, sort_name: str, limit: int, after: tuple[Any, ...] | None
) -> tuple[str, list[Any]]:
    """The SQL and arguments of one incident page (also used by the benchmark to EXPLAIN it)."""
    sort = INCIDENT_SORTS[sort_name]
    where = _Where()
    if filters.status:
        where.add("status = {}", filters.status)
    if filters.severity:
        where.add("severity = {}", filters.severity)
    if filters.team:
        where.add("labels ->> 'team' = {}", filters.team)
    if filters.q:
        where.add("search_text ILIKE {}", f"%{_escape_like(filters.q)}%")  # title and summary (without its count)
    if filters.since:
        where.add("created_at >= {}", filters.since)
    if filters.until:
        where.add("created_at < {}", filters.until)
    _keyset(where, sort, after)
    where.args.append(limit + 1)
    sql = (
        f"SELECT *, {', '.join(sort.keys)} FROM incidents WHERE {where.sql()} ORDER BY {_order(sort)}"  # noqa: S608 - columns and order from the fixed INCIDENT_SORTS; filters are $n parameters
        f" LIMIT ${len(where.args)}"
    )
    return sql, where.args


async def list_incidents(
    conn: asyncpg.Connection, filters: IncidentFilter, sort_name: str, limit: int, after: tuple[Any, ...] | None
) -> Page:
    """A page of incidents in the given sort, after the given key."""
    sql, args = incident_query(filters, sort_name, limit, after)
    rows = await conn.fetch(sql, *args)
    return _page(rows, limit, Incident.from_record, len(INCIDENT_SORTS[sort_name].keys))


async def list_alerts(
    conn: asyncpg.Connection, filters: AlertFilter, limit: int, after: tuple[Any, ...] | None
) -> Page:
    """A page of alerts, newest first, after the given id."""
    where = _Where()
    if filters.status:
        where.add("status = {}", filters.status)
    if filters.incident_id is not None:
        where.add("incident_id = {}", filters.incident_id)
    if filters.fingerprint:
        where.add("fingerprint = {}", filters.fingerprint)
    if filters.labels:
        where.add("labels @> {}::jsonb", filters.labels)
    _keyset(where, ALERT_SORT, after)
    where.args.append(limit + 1)
    rows = await conn.fetch(
        f"SELECT *, id FROM alerts_seen WHERE {where.sql()} ORDER BY id DESC LIMIT ${len(where.args)}", *where.args  # noqa: S608 - the WHERE is built of literal clauses with $n parameters
    )
    return _page(rows, limit, Alert.from_record, 1)


def _page(rows: list[Any], limit: int, build: Any, key_count: int) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    next_key = tuple(list(rows[-1].values())[-key_count:]) if more and rows else None
    return Page([build(r) for r in rows], next_key)


async def get_alert(conn: asyncpg.Connection, alert_id: int) -> Alert | None:
    """One alert by id."""
    row = await conn.fetchrow("SELECT * FROM alerts_seen WHERE id = $1", alert_id)
    return Alert.from_record(row) if row else None
