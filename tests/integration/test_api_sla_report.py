"""GET /api/v1/reports/sla against a hand-built set of incidents whose figures are worked out in the comments."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from store import sla
from store.db import Database, create_database
from store.domain.config_schema import parse_config
from store.settings import DatabaseSettings
from tests.support.api import bearer, running_app, seed_incident

M = timedelta(minutes=1)
CONFIG = {
    "routes": [{"id": "db", "match": ['team="db"'], "sla": {"ack": "5m", "resolve": "1h"}}],
    "sla": {"critical": {"ack": "10m", "resolve": "4h"}},
}


async def seed(db: Database, now: datetime) -> None:
    """Seven incidents: six in the last 30 days, one older. Times count from each one's trigger."""
    base = now - timedelta(days=2)

    async def add(route: str, severity: str, *, ack: timedelta | None = None, resolve: timedelta | None = None,
                  at: datetime = base, team: str | None = None) -> None:
        status = "resolved" if resolve is not None else "acknowledged" if ack is not None else "triggered"
        await seed_incident(db, route_id=route, severity=severity, status=status, created_at=at, triggered_at=at,
                            acknowledged_at=at + ack if ack is not None else None,
                            resolved_at=at + resolve if resolve is not None else None,
                            labels={"team": team} if team else {}, title=f"{route}-{severity}-{at}")

    await add("db", "critical", ack=3 * M, resolve=50 * M, team="db")          # db: ack met, resolve met
    await add("db", "warning", ack=7 * M, resolve=120 * M, team="db")          # db: both breached
    await add("default", "critical", ack=8 * M, resolve=180 * M, team="=cmd")  # severity target: both met
    await add("default", "critical", at=now - 20 * M)                         # open: ack breached, resolve pending
    await add("default", "warning", resolve=30 * M)                           # no target: not measured
    await add("default", "critical", resolve=12 * M)                          # resolved unacked at 12m: ack breached
    await add("default", "critical", ack=60 * M, at=now - timedelta(days=40))  # outside the window


@pytest.fixture
async def client(database_url: str, db: Database) -> AsyncIterator[Any]:
    await seed(db, datetime.now(UTC))
    async with running_app(database_url, parse_config(CONFIG)) as (_, test_client):
        yield test_client


async def test_the_figures_per_route_are_the_hand_worked_ones(client: Any, db: Database) -> None:
    headers = await bearer(db, "viewer")
    response = await client.get("/api/v1/reports/sla?since=30d&group_by=route", headers=headers)
    assert response.status_code == 200
    body = await response.get_json()
    groups = {g["group"]: g for g in body["groups"]}
    assert [g["group"] for g in body["groups"]] == ["db", "default"]
    assert groups["db"] == {
        "group": "db", "incidents": 2, "ack_met": 1, "ack_breached": 1, "ack_attainment_percent": 50.0,
        "resolve_met": 1, "resolve_breached": 1, "resolve_attainment_percent": 50.0, "breaches": 2,
        "mtta_seconds": {"p50": 300.0, "p90": 396.0},    # 3m and 7m
        "mttr_seconds": {"p50": 5100.0, "p90": 6780.0},  # 50m and 120m
    }
    assert groups["default"] == {
        "group": "default", "incidents": 4, "ack_met": 1, "ack_breached": 2, "ack_attainment_percent": 33.33,
        "resolve_met": 2, "resolve_breached": 0, "resolve_attainment_percent": 100.0, "breaches": 2,
        "mtta_seconds": {"p50": 480.0, "p90": 480.0},
        "mttr_seconds": {"p50": 1800.0, "p90": 9000.0},  # 12m, 30m, 180m
    }
    total = body["total"]
    assert (total["incidents"], total["ack_attainment_percent"], total["resolve_attainment_percent"],
            total["breaches"]) == (6, 40.0, 75.0, 4)
    assert sum(w["incidents"] for w in body["weekly"]) == 6
    assert all(datetime.fromisoformat(w["week"]).weekday() == 0 for w in body["weekly"])  # weeks start on Monday


async def test_by_severity_and_by_team(client: Any, db: Database) -> None:
    headers = await bearer(db, "viewer")
    by_severity = await (await client.get("/api/v1/reports/sla?group_by=severity", headers=headers)).get_json()
    assert [(g["group"], g["incidents"], g["breaches"]) for g in by_severity["groups"]] == [
        ("critical", 4, 2), ("warning", 2, 2)]
    by_team = await (await client.get("/api/v1/reports/sla?group_by=team", headers=headers)).get_json()
    assert sorted((g["group"] or "", g["incidents"]) for g in by_team["groups"]) == [("", 3), ("=cmd", 1), ("db", 2)]


@pytest.mark.parametrize("how", [{"query": "&format=csv"}, {"accept": "text/csv"}])
async def test_csv_by_format_or_accept_with_formulas_defused(client: Any, db: Database, how: dict[str, str]) -> None:
    headers = {**await bearer(db, "viewer"), "Accept": how.get("accept", "*/*")}
    response = await client.get(f"/api/v1/reports/sla?group_by=team{how.get('query', '')}", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="sla-team-')
    rows = list(csv.DictReader(io.StringIO(await response.get_data(as_text=True))))
    assert {r["group"] for r in rows if r["scope"] == "group"} == {"", "db", "'=cmd"}
    total = next(r for r in rows if r["scope"] == "total")
    assert (total["incidents"], total["ack_attainment_percent"], total["breaches"]) == ("6", "40.0", "4")
    assert any(r["scope"] == "week" for r in rows)


@pytest.mark.parametrize(
    ("query", "field"),
    [("group_by=host", "group_by"), ("since=yesterday", "since"), ("since=400d", "since"), ("since=999999d", "since"),
     ("since=2d&until=3d", "until"), ("until=soon", "until"), ("format=xml", "format"), ("limit=3", "limit")],
)
async def test_a_bad_parameter_is_a_422_naming_it(client: Any, db: Database, query: str, field: str) -> None:
    response = await client.get(f"/api/v1/reports/sla?{query}", headers=await bearer(db, "viewer"))
    assert response.status_code == 422
    assert (await response.get_json())["error"]["details"][0]["field"] == field


async def test_the_report_needs_a_token(client: Any) -> None:
    assert (await client.get("/api/v1/reports/sla")).status_code == 401


async def test_incident_json_carries_its_sla(client: Any, db: Database) -> None:
    headers = await bearer(db, "viewer")
    items = (await (await client.get("/api/v1/incidents?status=triggered", headers=headers)).get_json())["items"]
    (open_one,) = items
    created = datetime.fromisoformat(open_one["created_at"].replace("Z", "+00:00"))
    assert open_one["sla"]["breached"] == ["ack"]
    assert datetime.fromisoformat(open_one["sla"]["ack_due_at"].replace("Z", "+00:00")) == created + 10 * M
    assert datetime.fromisoformat(open_one["sla"]["resolve_due_at"].replace("Z", "+00:00")) == created + 240 * M


async def test_one_connection_gives_the_figures_of_two(database_url: str, db: Database) -> None:
    """With no spare connection in the pool, the report's two statements run one after the other on the one it
    holds; the figures are those of the two statements run at once on two connections."""
    now = datetime.now(UTC)
    await seed(db, now)
    config = parse_config(CONFIG)
    single = await create_database(database_url, DatabaseSettings(url=database_url, max_open_conns=1,
                                                                  max_idle_conns=1))
    try:
        for group_by in ("route", "severity", "team"):
            alone = await sla.report(single, config, now - timedelta(days=30), now, group_by, now)
            shared = await sla.report(db, config, now - timedelta(days=30), now, group_by, now)
            assert alone == shared
        by_route = await sla.report(single, config, now - timedelta(days=30), now, "route", now)
        assert [(g.group, g.incidents, g.ack_met, g.ack_breached) for g in by_route.groups] == [
            ("db", 2, 1, 1), ("default", 4, 1, 2)]
        assert (by_route.total.incidents, by_route.total.mtta) == (6, (420.0, 468.0))  # 3m, 7m, 8m: p90 7m + 0.8m
    finally:
        await single.close()


async def test_weeks_start_on_monday_at_midnight_utc(db: Database) -> None:
    """An incident opened at a Monday's midnight is in that week, one a microsecond earlier in the week before, and
    the window's bounds are kept to the microsecond."""
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    before = monday - timedelta(microseconds=1)
    for at in (before, monday, monday + timedelta(days=6, hours=23)):
        await seed_incident(db, route_id="default", severity="critical", created_at=at, triggered_at=at,
                            title=f"at {at.isoformat()}")
    config, now = parse_config(CONFIG), monday + timedelta(days=7)
    found = await sla.report(db, config, before, now, "severity", now)
    assert [(w.group.isoformat(), w.incidents) for w in found.weekly] == [("2026-11-23", 1), ("2026-11-30", 2)]
    assert found.total.incidents == 3
    from_monday = await sla.report(db, config, monday, now, "severity", now)
    assert [(w.group.isoformat(), w.incidents) for w in from_monday.weekly] == [("2026-11-30", 2)]
    assert (await sla.report(db, config, before, monday, "severity", now)).total.incidents == 1


async def test_an_error_in_either_statement_is_raised_as_itself(database_url: str, db: Database) -> None:
    """The two statements run at once; when the database refuses them (here: incidents locked beyond lock_timeout)
    the caller gets the database's error itself, not an exception group, and the pool's connections still work."""
    await seed(db, datetime.now(UTC))
    hasty = await create_database(database_url, DatabaseSettings(url=database_url, max_open_conns=2, max_idle_conns=2),
                                  server_settings={"lock_timeout": "200ms"})
    config, now = parse_config(CONFIG), datetime.now(UTC)
    try:
        async with db.transaction() as locker:
            await locker.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(asyncpg.LockNotAvailableError):
                await sla.report(hasty, config, now - timedelta(days=30), now, "route", now)
        found = await sla.report(hasty, config, now - timedelta(days=30), now, "route", now)
        assert found.total.incidents == 6
        assert hasty.usage() == (2, 2)  # both back in the pool, idle
    finally:
        await hasty.close()
