"""What the pages show, read from the store: the list with its counters and stats, one incident in full."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from store import deliveries, maintenance
from store.db import Database
from store.domain.config_schema import Config
from store.domain.incident import SEVERITIES, Status, incident_number
from store.domain.links import safe_url, source_links, ticket_links
from store.domain.sla import KINDS, SlaTarget, breached, describe, due_at
from store.domain.templates import ChecklistItem
from store.errors import ApiError, NotFound
from store.models import Alert, Event, Incident
from store.sla import clock_of
from store.sql import alerts as alerts_sql
from store.sql import events as events_sql
from store.sql import incidents as incidents_sql
from store.sql import listing
from store.sql import postmortems as postmortems_sql
from store.sql import stats as stats_sql
from store.sql import templates as templates_sql
from web.api import cursor

PAGE_SIZE = 50
PERIODS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
DEFAULT_PERIOD = "7d"
# How long a period's statistics are reused: a longer period costs more (90 days: ~130 ms at 100,000
# incidents) and moves less in a few seconds.
CACHE_SECONDS = {"24h": 5.0, "7d": 5.0, "30d": 15.0, "90d": 60.0}
MAX_TEXT = 200
ALERTS_SHOWN = 200
EVENTS_SHOWN = 500
STATUSES = tuple(s.value for s in Status)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The list page's query string, checked: filters, sort, cursor and the stats period."""

    status: str = ""
    severity: str = ""
    team: str = ""
    q: str = ""
    sort: str = "-created_at"
    cursor: str = ""
    period: str = DEFAULT_PERIOD

    def filters(self) -> listing.IncidentFilter:
        """The store's filter of this query."""
        return listing.IncidentFilter(self.status or None, self.severity or None, self.team or None, self.q or None)

    def params(self, **changes: str) -> dict[str, str]:
        """The non-default query parameters, with changes (for links to other pages and periods)."""
        current = replace(self, **changes)
        defaults = ListQuery()
        return {name: getattr(current, name) for name in self.__slots__
                if getattr(current, name) != getattr(defaults, name)}

    @property
    def filtered(self) -> bool:
        """True when any filter narrows the list."""
        return bool(self.status or self.severity or self.team or self.q)


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(422, "invalid_parameter", f"{name}: {message}", [{"field": name, "message": message}])


def _choice(args: Mapping[str, str], name: str, choices: tuple[str, ...], default: str = "") -> str:
    value = (args.get(name) or "").strip()
    if not value:
        return default
    if value not in choices:
        raise _invalid(name, f"expected one of {', '.join(choices)}, not {value[:40]!r}")
    return value


def _text(args: Mapping[str, str], name: str) -> str:
    value = (args.get(name) or "").strip()
    if len(value) > MAX_TEXT:
        raise _invalid(name, f"expected at most {MAX_TEXT} characters")
    return value


def parse_list_query(args: Mapping[str, str]) -> ListQuery:
    """The list page's parameters from a query string; 422 naming the first bad one. Empty values mean 'any'."""
    query = ListQuery(
        status=_choice(args, "status", STATUSES),
        severity=_choice(args, "severity", SEVERITIES),
        team=_text(args, "team"),
        q=_text(args, "q"),
        sort=_choice(args, "sort", tuple(listing.INCIDENT_SORTS), "-created_at"),
        cursor=(args.get("cursor") or "").strip()[:500],
        period=_choice(args, "period", tuple(PERIODS), DEFAULT_PERIOD),
    )
    _decode_cursor(query)  # a bad cursor is refused before any query runs
    return query


def _decode_cursor(query: ListQuery) -> tuple[Any, ...] | None:
    sort = listing.INCIDENT_SORTS[query.sort]
    return cursor.decode(query.cursor or None, f"incidents{query.sort}", sort.kinds)


@dataclass(frozen=True, slots=True)
class Window:
    """Statistics of the incidents created in one period, with per-day series for the charts."""

    period: str
    since: datetime
    until: datetime
    stats: stats_sql.Stats
    durations: list[tuple[date, float | None, float | None]]

    @property
    def count(self) -> int:
        """Incidents created in the period."""
        return sum(self.stats.by_status.values())

    def rows(self) -> list[tuple[date, int, int, float | None, float | None]]:
        """Per day: opened, resolved, mean seconds to acknowledge and to resolve (of those opened that day)."""
        mean = {d: (a, r) for d, a, r in self.durations}
        return [(d, o, r, *mean.get(d, (None, None))) for d, o, r in self.stats.daily]

    def chart_data(self) -> dict[str, Any]:
        """The series the charts draw, as JSON-ready values."""
        rows = self.rows()
        return {
            "days": [d.isoformat() for d, *_ in rows],
            "opened": [o for _, o, _, _, _ in rows],
            "resolved": [r for _, _, r, _, _ in rows],
            "status": {s: self.stats.by_status.get(s, 0) for s in STATUSES},
            "mtta_minutes": [_minutes(a) for _, _, _, a, _ in rows],
            "mttr_minutes": [_minutes(r) for _, _, _, _, r in rows],
        }


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


class WindowCache:
    """Each period's statistics, reused for a few seconds: they move with the clock anyway, and live
    refreshes of many viewers would otherwise recompute the same aggregates."""

    def __init__(self, seconds: dict[str, float] | None = None) -> None:
        self.seconds = seconds or CACHE_SECONDS
        self._entries: dict[str, tuple[float, Window]] = {}  # period: (expires, window)
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, conn: Any, period: str, now: datetime) -> Window:
        """The period's window ending now (or a few seconds ago); concurrent pages share one computation."""
        lock = self._locks.setdefault(period, asyncio.Lock())
        async with lock:
            entry = self._entries.get(period)
            if entry is not None and entry[0] > time.monotonic():
                return entry[1]
            since = now - PERIODS[period]
            stats = await stats_sql.window_stats(conn, since, now)
            durations = await stats_sql.daily_durations(conn, since, now)
            window = Window(period, since, now, stats, durations)
            self._entries[period] = (time.monotonic() + self.seconds.get(period, 5.0), window)
            return window

    def changed(self, _payload: str = "") -> None:
        """Something changed (a live event reached this process): the next page computes afresh."""
        self._entries.clear()


@dataclass(frozen=True, slots=True)
class ListView:
    """Everything the list page shows."""

    query: ListQuery
    incidents: list[Incident]
    next_cursor: str | None
    open_by_status: dict[str, int]
    open_by_severity: dict[str, int]
    window: Window
    sla: dict[int, SlaLine] = field(default_factory=dict)  # open incidents: the target that needs action first
    maintenance: list[maintenance.WindowView] = field(default_factory=list)  # in force first, then to come

    @property
    def open_total(self) -> int:
        """Incidents not resolved."""
        return sum(self.open_by_status.values())


def first_due(incident: Incident, config: Config, now: datetime) -> SlaLine | None:
    """Of an open incident's targets not yet met, the one due first (breached ones included)."""
    if incident.status is Status.RESOLVED:
        return None
    lines = [line for line in sla_lines(incident, config.sla_target(incident.route_id, incident.severity), now)
             if line.state != "met" and clock_of(incident).answered_at(line.kind) is None]
    return min(lines, key=lambda line: line.due_at, default=None)


async def load_list(
    db: Database, query: ListQuery, cache: WindowCache, now: datetime, config: Config | None = None
) -> ListView:
    """One page of the list, the open counters, the period's statistics, the SLA of open incidents and the
    maintenance windows not over."""
    after = _decode_cursor(query)
    async with db.connection() as conn:
        page = await listing.list_incidents(conn, query.filters(), query.sort, PAGE_SIZE, after)
        counts = await stats_sql.open_counts(conn)
        window = await cache.get(conn, query.period, now)
    by_status = {s: 0 for s in STATUSES if s != Status.RESOLVED}
    by_severity = {s: 0 for s in SEVERITIES}
    for status, severity, n in counts:
        by_status[status] = by_status.get(status, 0) + n
        by_severity[severity] = by_severity.get(severity, 0) + n
    windows = await maintenance.views(db, config, now) if config is not None else []
    shown = sorted((w for w in windows if w.period is not None and w.period[1] > now),
                   key=lambda w: (not w.active, w.period))
    config = config or Config()
    due = {i.id: line for i in page.items if (line := first_due(i, config, now)) is not None}
    return ListView(query, page.items, cursor.encode(f"incidents{query.sort}", page.next_key), by_status,
                    by_severity, window, due, shown)


@dataclass(frozen=True, slots=True)
class SlaLine:
    """One SLA target of an incident as the page shows it: due time and where it stands now."""

    kind: str  # "ack" or "resolve"
    target: str  # "5m"
    due_at: datetime
    state: str  # "met", "breached" or "running"
    seconds: float  # running: time left; breached: how long overdue (or how late it was met); met: 0


def sla_lines(incident: Incident, target: SlaTarget, now: datetime) -> list[SlaLine]:
    """The incident's targets: met, breached (and by how much), or running (and the time left)."""
    clock = clock_of(incident)
    lines = []
    for kind in KINDS:
        due, limit = due_at(clock, target, kind), target.of(kind)
        if due is None or limit is None:
            continue
        answered = clock.answered_at(kind)
        if breached(clock, target, kind, now):
            lines.append(SlaLine(kind, describe(limit), due, "breached", ((answered or now) - due).total_seconds()))
        elif answered is not None:
            lines.append(SlaLine(kind, describe(limit), due, "met", 0.0))
        else:
            lines.append(SlaLine(kind, describe(limit), due, "running", (due - now).total_seconds()))
    return lines


@dataclass(frozen=True, slots=True)
class IncidentView:
    """Everything the incident page shows."""

    incident: Incident
    alerts: list[Alert]
    events: list[Event]
    deliveries: dict[str, Any]
    links: list[tuple[str, str]]
    sla: list[SlaLine] = field(default_factory=list)
    template: str | None = None
    runbooks: list[str] = field(default_factory=list)
    checklist: list[ChecklistItem] = field(default_factory=list)
    postmortem: str | None = None  # "draft", "published", or None: none saved

    @property
    def alerts_hidden(self) -> int:
        """Alerts beyond those shown."""
        return max(0, self.incident.alert_count - len(self.alerts))


def incident_links(incident: Incident, alertmanager_url: str | None) -> list[tuple[str, str]]:
    """(name, URL) of its Jira issues, source graph, runbook, Grafana and Alertmanager, keeping only http(s) URLs
    (Alertmanager's only for Alertmanager's alerts)."""
    labels = incident.group_labels or incident.labels
    alertmanager = alertmanager_url if incident.source == "alertmanager" else None
    found = [*ticket_links(incident.tickets), *source_links(incident.links, labels, alertmanager)]
    return [(link.name, link.url) for link in found]


def parse_incident_id(text: str) -> int:
    """An incident id from the path; 404 when it is not one."""
    number = incident_number(text) if not text.startswith("#") else None
    if number is None:
        raise NotFound(f"there is no incident {text[:40]!r}")
    return number


async def load_incident(
    db: Database, incident_id: int, alertmanager_url: str | None, config: Config | None = None,
    now: datetime | None = None,
) -> IncidentView:
    """The incident, its alerts, timeline, delivery status per channel, SLA, checklist; 404 when unknown."""
    async with db.connection() as conn:
        incident = await incidents_sql.get(conn, incident_id)
        alerts = await alerts_sql.list_for_incident(conn, incident_id, ALERTS_SHOWN)
        events = await events_sql.latest_for_incident(conn, incident_id, EVENTS_SHOWN)
        delivery = (await deliveries.status_of(conn, [incident_id]))[incident_id]
        template = await templates_sql.template_of(conn, incident_id)
        checklist = await templates_sql.checklist(conn, incident_id)
        review = await postmortems_sql.get(conn, incident_id)
    target = (config or Config()).sla_target(incident.route_id, incident.severity)
    return IncidentView(
        incident, alerts, events, delivery, incident_links(incident, alertmanager_url),
        sla=sla_lines(incident, target, now or datetime.now(UTC)),
        template=template[0] if template else None,
        runbooks=[url for url in (safe_url(u) for u in (template[1] if template else [])) if url],
        checklist=checklist,
        postmortem=review.status if review else None,
    )
