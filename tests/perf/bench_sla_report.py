"""Benchmark of the SLA report at 100,000 incidents over 90 days (run by hand, not collected).

    /work/.venv/bin/python tests/perf/bench_sla_report.py [--requests 50]

Seeds a fresh database with tests/perf/seed_alerts.py (100,000 incidents over 90 days, one alert each), spreads
them over three routes and acknowledges nine in ten (for attainment and MTTA), then measures the 90-day report:
in the database alone (store.sla.report: its per-group and per-week statements at once on two pooled connections,
then on one connection, one after the other), and through `GET /api/v1/reports/sla?since=90d` of a running
`tocsin serve`, JSON and CSV. Prints p50/p95/max and the CPU time per report of the Tocsin process and of
PostgreSQL, read from /proc. Uses TEST_DATABASE_URL's server when set, else embedded PostgreSQL (whose processes
are on this machine, so their CPU can be read).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_alerts import seed  # noqa: E402

from store import sla  # noqa: E402
from store.db import Database, create_database  # noqa: E402
from store.domain.config_schema import parse_config  # noqa: E402
from store.settings import DatabaseSettings  # noqa: E402
from store.sql import stats as stats_sql  # noqa: E402
from tests.perf.timing import header, row  # noqa: E402
from tests.support.postgres import TestPostgres  # noqa: E402
from tests.support.server import run_cli, serving  # noqa: E402

INCIDENTS = 100_000
CONFIG = """
routes:
  - {id: db, match: ['team="team-1"'], sla: {ack: 5m, resolve: 30m}}
  - {id: web, match: ['team="team-2"'], sla: {ack: 10m, resolve: 4h}}
sla:
  critical: {ack: 5m, resolve: 1h}
  error: {ack: 15m, resolve: 4h}
  warning: {ack: 1h, resolve: 1d}
"""
SPREAD = """
UPDATE incidents
SET route_id = (ARRAY['db', 'web', 'default'])[1 + id % 3],
    acknowledged_at = CASE WHEN id % 10 <> 0 THEN triggered_at + make_interval(secs => 30 + (id * 7919) % 1200) END,
    acknowledged_by = CASE WHEN id % 10 <> 0 THEN 'alice' END
"""
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far, from /proc/PID/stat (fields 14 and 15)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # a backend that ended
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def postgres_pids(data_dir: str) -> list[int]:
    """The processes of this benchmark's embedded PostgreSQL (its postmaster, whose command line names the data
    directory, and the backends it forked); other PostgreSQL servers on the machine are left out."""
    for process in psutil.process_iter(["cmdline"]):
        if data_dir and data_dir in " ".join(process.info["cmdline"] or []):
            return [process.pid, *(c.pid for c in process.children(recursive=True))]
    return []


def serve_pid() -> int:
    """The `tocsin serve` child of this process."""
    for child in psutil.Process().children(recursive=True):
        if "serve" in child.cmdline():
            return child.pid
    raise RuntimeError("no tocsin serve process found")


async def prepare(url: str) -> None:
    await seed(url, INCIDENTS, 1)
    conn = await asyncpg.connect(url, command_timeout=600)
    try:
        await conn.execute(SPREAD)
        await conn.execute("VACUUM ANALYZE incidents")
        print(f"incidents: {await conn.fetchval('SELECT count(*) FROM incidents')}, plans of the report's statements:")
        config = parse_config(yaml.safe_load(CONFIG))
        targets = sla.targets_of(config)
        now = datetime.now(UTC)
        await conn.execute(f"SET work_mem = '{sla.sla_sql.REPORT_WORK_MEM}'")
        for name, make in (("per route", lambda p: sla.sla_sql.by_group_sql("route", targets, p)),
                           ("per week and total", lambda p: sla.sla_sql.by_week_sql(targets, p))):
            params: list[object] = [now - timedelta(days=90), now, now]
            query = make(params)
            plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + query, *params)
            print(f"  {name}:")
            print("\n".join("    " + r[0] for r in plan))
    finally:
        await conn.close()


async def yardstick(db: Database, runs: int) -> None:
    """How busy the machine is: the dashboard's 90-day statistics, the same query in every run of this script."""
    async with db.connection() as conn:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        found, before, now = [], cpu_seconds([backend]), datetime.now(UTC)
        for _ in range(runs):
            started = time.perf_counter()
            await stats_sql.window_stats(conn, now - timedelta(days=90), now)
            await stats_sql.daily_durations(conn, now - timedelta(days=90), now)
            found.append((time.perf_counter() - started) * 1000)
        used = (cpu_seconds([backend]) - before) / runs * 1000
    print(f"yardstick: dashboard statistics of 90d: median {statistics.median(found):6.1f} ms, "
          f"PostgreSQL CPU {used:5.1f} ms (compare runs by it: wall time above CPU time is waiting for a core)")


async def backends(db: Database, count: int) -> list[int]:
    """The backend pids of the pool's `count` connections (held at once, so they are distinct)."""
    async with contextlib.AsyncExitStack() as stack:
        held = [await stack.enter_async_context(db.connection()) for _ in range(count)]
        return [await conn.fetchval("SELECT pg_backend_pid()") for conn in held]


async def database_side(url: str, runs: int) -> None:
    """The report as the API computes it, timed in this process, with the CPU of its PostgreSQL backends: with two
    pooled connections (its two statements at once), then with one (one after the other)."""
    config = parse_config(yaml.safe_load(CONFIG))
    for connections in (2, 1):
        settings = DatabaseSettings(url=url, max_open_conns=connections, max_idle_conns=connections)
        db = await create_database(url, settings)
        try:
            if connections == 2:
                await yardstick(db, runs)
            pids = await backends(db, connections)
            for group_by in ("route", "severity", "team"):
                found = []
                before = cpu_seconds(pids)
                for _ in range(runs):
                    now = datetime.now(UTC)
                    started = time.perf_counter()
                    report = await sla.report(db, config, now - timedelta(days=90), now, group_by, now)
                    found.append((time.perf_counter() - started) * 1000)
                used = (cpu_seconds(pids) - before) / runs * 1000
                print(f"store.sla.report 90d by {group_by:8} ({connections} conn): "
                      f"median {statistics.median(found):6.1f} ms, max {max(found):6.1f} ms, "
                      f"PostgreSQL CPU {used:5.1f} ms per report ({report.total.incidents} incidents, "
                      f"{len(report.groups)} groups, {len(report.weekly)} weeks)")
        finally:
            await db.close()


async def settled(url: str, seconds: float = 120.0) -> int:
    """Wait until the server's SLA job has recorded the seeded backlog of breaches (1% of the incidents are open and
    overdue), so that its work does not count as the report's; the number recorded."""
    conn = await asyncpg.connect(url)
    try:
        deadline, last = time.monotonic() + seconds, -1
        while time.monotonic() < deadline:
            count = await conn.fetchval("SELECT count(*) FROM sla_breaches")
            if count == last and count > 0:
                return count
            last = count
            await asyncio.sleep(6)  # longer than the job's 5 s period
        return last
    finally:
        await conn.close()


async def http_side(base: str, token: str, requests: int, data_dir: str, url: str) -> None:
    """GET /api/v1/reports/sla?since=90d one at a time, with the CPU of tocsin serve and PostgreSQL per request."""
    print(f"breaches recorded by the SLA job before measuring: {await settled(url)}")
    server = serve_pid()
    headers = {"Authorization": f"Bearer {token}"}
    print(header("request (1 client)", 1, requests))
    async with aiohttp.ClientSession(base, headers=headers, timeout=aiohttp.ClientTimeout(total=60)) as client:
        for name, query in (("90d by route, JSON", "since=90d&group_by=route"),
                            ("90d by team, JSON", "since=90d&group_by=team"),
                            ("90d by severity, CSV", "since=90d&group_by=severity&format=csv")):
            for _ in range(3):
                async with client.get(f"/api/v1/reports/sla?{query}") as response:
                    await response.read()
            pg = postgres_pids(data_dir)
            cpu_before = (cpu_seconds([server]), cpu_seconds(pg))
            found = []
            for _ in range(requests):
                started = time.perf_counter()
                async with client.get(f"/api/v1/reports/sla?{query}") as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{query}: {response.status}")
                found.append((time.perf_counter() - started) * 1000)
            tocsin_cpu = (cpu_seconds([server]) - cpu_before[0]) / requests * 1000
            pg_cpu = (cpu_seconds(pg) - cpu_before[1]) / requests * 1000
            print(f"{row(name, found)}   CPU per request: Tocsin {tocsin_cpu:5.1f} ms, PostgreSQL {pg_cpu:5.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    server = TestPostgres()
    server.start()
    try:
        url = asyncio.run(server.fresh_database())
        started = time.monotonic()
        asyncio.run(prepare(url))
        print(f"seeded in {time.monotonic() - started:.0f} s")
        asyncio.run(database_side(url, 10))
        token = run_cli(url, "token", "create", "--name", "bench", "--role", "viewer").stdout.strip()
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as config:
            config.write(CONFIG)
            config.flush()
            with serving(url, DB_MAX_OPEN_CONNS="10", TOCSIN_CONFIG=config.name) as base:
                data_dir = str(server.embedded.pgdata) if server.embedded else ""
                asyncio.run(http_side(base, token, args.requests, data_dir, url))
        print(f"load after: {os.getloadavg()}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
