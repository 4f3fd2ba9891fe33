"""Benchmark of the dashboard at 100,000 incidents and 1,000,000 alerts (run by hand, not collected).

    /work/.venv/bin/python tests/perf/bench_dashboard.py [--requests 300] [--clients 1]

Seeds a fresh database with tests/perf/seed_alerts.py (100,000 incidents of 10 alerts each, over 90 days,
with their timelines; acknowledgements added for MTTA), starts `tocsin serve`, signs in with a viewer
token, and prints p50/p95/p99 of the time to produce each page (with one client, the server's time plus a
loopback round trip), and the bytes of a first load of each page with its scripts and stylesheet.
Uses TEST_DATABASE_URL's server when set, else embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_alerts import seed  # noqa: E402

from store.sql import stats as stats_sql  # noqa: E402
from tests.perf.harness import run_served  # noqa: E402
from tests.perf.timing import header, row  # noqa: E402
from web.dashboard.data import PERIODS  # noqa: E402

ALERTS = 1_000_000
PER_INCIDENT = 10
ACKNOWLEDGE = """
UPDATE incidents SET acknowledged_at = triggered_at + make_interval(secs => 30 + (id * 7919) % 900),
                     acknowledged_by = 'alice'
WHERE id % 10 <> 0
"""
PAGES = {
    "GET / (default: 7d stats)": "/",
    "GET /?period=30d": "/?period=30d",
    "GET /?status=triggered": "/?status=triggered",
    "GET /?team=team-3": "/?team=team-3",
    "GET /?q=Seed9999": "/?q=Seed9999",
    "GET /?sort=severity": "/?sort=severity",
    "GET /incidents/{id} (random)": "/incidents/{id}",
}
ASSET = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(/dashboard/static/[^"]+)"')


async def prepare(url: str) -> int:
    await seed(url, ALERTS, PER_INCIDENT)
    conn = await asyncpg.connect(url, command_timeout=600)
    try:
        await conn.execute(ACKNOWLEDGE)
        await conn.execute("VACUUM ANALYZE incidents")
        return await conn.fetchval("SELECT max(id) FROM incidents")
    finally:
        await conn.close()


async def stats_queries(url: str) -> None:
    """Time of the statistics the list computes when its 5 s cache has expired, per period (database side)."""
    conn = await asyncpg.connect(url, command_timeout=600)
    try:
        now = datetime.now(UTC)
        for period, span in PERIODS.items():
            found = []
            for _ in range(5):
                started = time.perf_counter()
                await stats_sql.window_stats(conn, now - span, now)
                await stats_sql.daily_durations(conn, now - span, now)
                found.append((time.perf_counter() - started) * 1000)
            print(f"uncached stats of {period:>4}: median {statistics.median(found):6.1f} ms, max {max(found):6.1f} ms")
    finally:
        await conn.close()


async def sign_in(client: aiohttp.ClientSession, token: str) -> None:
    async with client.post("/login", data={"token": token, "next": "/"}, allow_redirects=False) as response:
        if response.status != 303:
            raise RuntimeError(f"sign-in failed: {response.status}")


async def first_load(client: aiohttp.ClientSession, path: str) -> tuple[int, int, int]:
    """(HTML bytes, asset bytes, number of assets) of a first visit: the page and every script and stylesheet."""
    async with client.get(path) as response:
        html = await response.read()
    assets = ASSET.findall(html.decode())
    total = 0
    for asset in assets:
        async with client.get(asset.replace("&amp;", "&")) as response:
            total += len(await response.read())
    return len(html), total, len(assets)


async def timings(client: aiohttp.ClientSession, path: str, clients: int, requests: int, top: int) -> list[float]:
    found: list[float] = []
    queue = iter(range(requests))

    async def worker() -> None:
        for _ in queue:
            target = path.format(id=random.randint(1, top))
            started = time.perf_counter()
            async with client.get(target) as response:
                await response.read()
            found.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{target}: {response.status}")

    await asyncio.gather(*(worker() for _ in range(clients)))
    return found


async def bench(base: str, token: str, top: int, clients: int, requests: int) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1: keep the cookie
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, cookie_jar=jar, timeout=timeout) as client:
        await sign_in(client, token)
        for name, path in (("list", "/"), ("incident", f"/incidents/{top}")):
            html, assets, count = await first_load(client, path)
            print(f"first load of {name}: {html:,} B HTML + {assets:,} B in {count} assets = {html + assets:,} B")
        print(header("page", clients, requests))
        for name, path in PAGES.items():
            await timings(client, path, clients, 10, top)  # warm up
            found = await timings(client, path, clients, requests, top)
            print(row(name, found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    async def seeded(url: str) -> int:
        top = await prepare(url)
        await stats_queries(url)
        return top

    run_served(seeded, lambda base, token, top: bench(base, token, top, args.clients, args.requests))


if __name__ == "__main__":
    main()
