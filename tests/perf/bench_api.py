"""Benchmark of the incident list and stats at 100,000 incidents and 1,000,000 alerts (run by hand).

    /work/.venv/bin/python tests/perf/bench_api.py [--clients 10] [--requests 300]

Seeds a fresh database with generate_series, starts `tocsin serve` in a subprocess, then runs each
scenario with N concurrent clients and prints p50/p95/p99 in milliseconds, plus the plan of each
list query (every one must use an index). Uses TEST_DATABASE_URL's server when set, else embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from store.sql.listing import IncidentFilter, incident_query  # noqa: E402
from tests.perf.harness import run_served  # noqa: E402
from tests.perf.timing import header, row  # noqa: E402

INCIDENTS = 100_000
ALERTS_PER_INCIDENT = 10
DAYS = 90

SEED = f"""
INSERT INTO incidents (group_key, status, severity, title, summary, labels, created_at, updated_at, triggered_at,
                       acknowledged_at, acknowledged_by, resolved_at, resolved_by, alert_count, firing_alert_count)
SELECT 'bench|' || i,
       CASE WHEN i > {INCIDENTS} - 300 THEN (ARRAY['triggered', 'acknowledged'])[1 + i % 2] ELSE 'resolved' END,
       (ARRAY['critical', 'error', 'warning', 'warning', 'info'])[1 + i % 5],
       (ARRAY['High latency on checkout', 'Disk almost full', 'Certificate expires soon', 'Error rate above 5%',
              'Node not ready', 'Replication lag', 'Queue backlog growing'])[1 + i % 7] || ' #' || i,
       'summary of incident ' || i,
       jsonb_build_object('team', (ARRAY['payments', 'search', 'infra', 'data', 'web', 'mobile'])[1 + i % 6],
                          'alertname', 'Alert' || (i % 40)),
       t, t + interval '20 minutes', t,
       t + make_interval(secs => 30 + (i * 7919) % 900), 'alice',
       CASE WHEN i > {INCIDENTS} - 300 THEN NULL ELSE t + make_interval(secs => 600 + (i::bigint * 104729) % 7200) END,
       CASE WHEN i > {INCIDENTS} - 300 THEN NULL ELSE 'bob' END,
       {ALERTS_PER_INCIDENT}, 0
FROM generate_series(1, {INCIDENTS}) AS i,
     LATERAL (SELECT now() - interval '{DAYS} days' + (i * interval '{DAYS} days') / {INCIDENTS} AS t) AS ts;

UPDATE incidents SET acknowledged_at = NULL, acknowledged_by = NULL WHERE status = 'triggered';

INSERT INTO alerts (incident_id, fingerprint, starts_at, status, labels, annotations, created_at, updated_at,
                    last_received_at)
SELECT 1 + (a / {ALERTS_PER_INCIDENT}), md5(a::text), now() - make_interval(secs => a), 'resolved',
       jsonb_build_object('alertname', 'Alert' || (a % 40), 'instance', 'host-' || (a % 500) || ':9100',
                          'team', (ARRAY['payments', 'search', 'infra', 'data', 'web', 'mobile'])[1 + a % 6]),
       jsonb_build_object('summary', 'alert ' || a), now(), now(), now()
FROM generate_series(0, {INCIDENTS * ALERTS_PER_INCIDENT} - 1) AS a;
"""

SCENARIOS = {
    "list default sort": "/api/v1/incidents",
    "list status=triggered": "/api/v1/incidents?status=triggered",
    "list status=resolved": "/api/v1/incidents?status=resolved",
    "list severity=critical": "/api/v1/incidents?severity=critical",
    "list team=payments": "/api/v1/incidents?team=payments",
    "list q=replication": "/api/v1/incidents?q=replication",
    "list q=#99999 (rare)": "/api/v1/incidents?q=%2399999",
    "list since=30d ago": "/api/v1/incidents?since={since}",
    "list until=60d ago": "/api/v1/incidents?until={until}",
    "list sort=severity": "/api/v1/incidents?sort=severity",
    "list sort=status": "/api/v1/incidents?sort=status",
    "list sort=-updated_at": "/api/v1/incidents?sort=-updated_at",
    "alerts label=team=search": "/api/v1/alerts?label=team=search",
    "stats (7d)": "/api/v1/stats",
    "stats (30d)": "/api/v1/stats?since=30d",
    "stats since=<7d ago, uncached>": "/api/v1/stats?since={week}",
}


async def seed(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await conn.execute(SEED)
        await conn.execute("VACUUM ANALYZE incidents")
        await conn.execute("VACUUM ANALYZE alerts")
        print(f"seeded {INCIDENTS:,} incidents and {INCIDENTS * ALERTS_PER_INCIDENT:,} alerts "
              f"in {time.perf_counter() - started:.1f}s")
    finally:
        await conn.close()


async def explain(url: str) -> None:
    now = datetime.now(UTC)
    shapes = {
        "default": (IncidentFilter(), "-created_at"),
        "status": (IncidentFilter(status="triggered"), "-created_at"),
        "severity": (IncidentFilter(severity="critical"), "-created_at"),
        "team": (IncidentFilter(team="payments"), "-created_at"),
        "q": (IncidentFilter(q="#99999"), "-created_at"),
        "since": (IncidentFilter(since=now - timedelta(days=30)), "-created_at"),
        "sort=severity": (IncidentFilter(), "severity"),
        "sort=status": (IncidentFilter(), "status"),
        "sort=-updated_at": (IncidentFilter(), "-updated_at"),
    }
    conn = await asyncpg.connect(url)
    try:
        for name, (filters, sort) in shapes.items():
            sql, args = incident_query(filters, sort, 50, None)
            plan = [r[0] for r in await conn.fetch("EXPLAIN " + sql, *args)]
            scans = [line.strip() for line in plan if "Scan" in line]
            print(f"  plan {name:16} {scans[0] if scans else plan[0]}")
    finally:
        await conn.close()


async def run_scenario(client: aiohttp.ClientSession, path: str, clients: int, requests: int) -> list[float]:
    timings: list[float] = []
    queue = iter(range(requests))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            async with client.get(path) as response:
                await response.read()
            timings.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status}")

    await asyncio.gather(*(worker() for _ in range(clients)))
    return timings


async def bench(base: str, token: str, clients: int, requests: int) -> None:
    now = datetime.now(UTC)
    fmt = {"since": (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "until": (now - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "week": (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    connector = aiohttp.TCPConnector(limit=clients)
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector, timeout=timeout) as client:
        print(header("scenario", clients, requests))
        for name, path in SCENARIOS.items():
            path = path.format(**fmt)
            await run_scenario(client, path, clients, clients * 2)  # warm up
            timings = await run_scenario(client, path, clients, requests)
            print(row(name, timings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    async def seeded(url: str) -> None:
        await seed(url)
        await explain(url)

    run_served(seeded, lambda base, token, _: bench(base, token, args.clients, args.requests))


if __name__ == "__main__":
    main()
