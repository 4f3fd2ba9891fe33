"""Benchmark: from the webhook's answer to the email handed to the SMTP server (run by hand).

    /work/.venv/bin/python tests/perf/bench_delivery.py [--rate 10] [--background-rate 50] [--seconds 30]

Tocsin runs in a child process (hypercorn, real HTTP, PostgreSQL from TEST_DATABASE_URL or the embedded
server); this process posts webhooks and runs the SMTP server (aiosmtpd) on loopback. Each new-incident
webhook opens an incident whose open mail is timed from the moment its HTTP answer arrived to the moment
the SMTP server completed DATA (both on the system's monotonic clock). Background webhooks repeat known
alerts (stored, no new incident, no mail) to keep ingestion busy meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.support.incidents import firing_body  # noqa: E402
from tests.support.postgres import TestPostgres  # noqa: E402
from tests.support.smtp import SmtpSink  # noqa: E402


def serve() -> None:
    """The child: Tocsin's app with a default route mailing bench@example.com, until SIGTERM."""
    from store.domain.routing import Route, RouteTable
    from web.app import create_app
    from web.logs import configure_logging
    from web.server import serve_until_signalled
    from web.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log, settings.secrets())
    routes = RouteTable(default=Route(id="default", email=("bench@example.com",)))
    app = create_app(settings, settings.database.url or "", routes)
    asyncio.run(serve_until_signalled(app, settings.http))


async def outbox_seconds(database_url: str) -> list[float]:
    """Per open mail: from the transaction that queued it to its being marked sent."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT EXTRACT(EPOCH FROM sent_at - created_at)::float8 AS s FROM deliveries "
            "WHERE kind = 'open' AND state = 'sent' AND sent_at IS NOT NULL"
        )
    finally:
        await conn.close()
    return [r["s"] for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_ready(client: httpx.AsyncClient, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit("tocsin exited during start-up")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("tocsin did not start within 30s")


async def post_at_rate(client: httpx.AsyncClient, rate: float, seconds: float, make_body, on_answer) -> int:
    """Post make_body(i) every 1/rate seconds for `seconds`, concurrently; returns the number of errors."""
    errors = 0
    tasks = []

    async def one(i: int) -> None:
        nonlocal errors
        sent = time.monotonic()
        try:
            response = await client.post("/api/v1/webhooks/alertmanager", json=make_body(i))
        except httpx.HTTPError:
            errors += 1
            return
        answered = time.monotonic()
        if response.status_code != 200:
            errors += 1
            return
        on_answer(i, response.json(), answered)
        WEBHOOK_SECONDS.append(answered - sent)

    start = time.monotonic()
    i = 0
    while (now := time.monotonic()) - start < seconds:
        due = start + i / rate
        if due > now:
            await asyncio.sleep(due - now)
        tasks.append(asyncio.create_task(one(i)))
        i += 1
    await asyncio.gather(*tasks)
    return errors


WEBHOOK_SECONDS: list[float] = []


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def bench(args: argparse.Namespace) -> None:
    postgres = TestPostgres()
    await asyncio.to_thread(postgres.start)
    database_url = await postgres.fresh_database()
    sink = SmtpSink()
    smtp_port = await sink.start()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "EMAIL_SMTP_HOST": "127.0.0.1",
        "EMAIL_SMTP_PORT": str(smtp_port),
        "EMAIL_TLS": "none",
        "EMAIL_FROM": "tocsin@example.com",
        "LOG_LEVEL": "warning",
        "DB_MAX_OPEN_CONNS": "20",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen([sys.executable, __file__, "--serve"], env=env, cwd=ROOT)  # noqa: ASYNC220
    answered: dict[int, float] = {}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as client:
            await wait_ready(client, proc)
            # Known alerts for the background load: stored once now, repeated during the run (no mail).
            for g in range(20):
                await client.post("/api/v1/webhooks/alertmanager", json=firing_body(f"bg{g}"))
            await sink.wait_for(20, within=60)
            sink.received.clear()

            def record(i: int, body: dict, at: float) -> None:
                answered[body["incidents"][0]] = at

            new = post_at_rate(client, args.rate, args.seconds, lambda i: firing_body(f"new{i}"), record)
            background = (
                post_at_rate(
                    client,
                    args.background_rate,
                    args.seconds,
                    lambda i: firing_body(f"bg{i % 20}"),
                    lambda *_: None,
                )
                if args.background_rate > 0
                else asyncio.sleep(0, 0)
            )
            started = time.monotonic()
            errors_new, errors_bg = await asyncio.gather(new, background)
            elapsed = time.monotonic() - started
            await sink.wait_for(len(answered), within=120)
        queue_seconds = await outbox_seconds(database_url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        await sink.stop()
        await postgres.drop(database_url)
        await asyncio.to_thread(postgres.stop)
    arrived = {int(m.message["X-Tocsin-Incident"]): m.at for m in sink.received}
    latencies = [arrived[i] - at for i, at in answered.items() if i in arrived]
    print(f"load average before/after: {args.load_before} / {os.getloadavg()}")
    print(f"new-incident webhooks: {len(answered)} in {elapsed:.1f}s ({args.rate}/s asked), errors {errors_new}")
    print(f"background webhooks: {args.background_rate}/s asked, errors {errors_bg}")
    print(f"mails received: {len(sink.received)} (duplicates: {len(sink.received) - len(arrived)})")
    print(
        f"webhook answer time (all webhooks): p50 {percentile(WEBHOOK_SECONDS, 50) * 1000:.0f} ms, "
        f"p95 {percentile(WEBHOOK_SECONDS, 95) * 1000:.0f} ms"
    )
    print(
        f"outbox, commit -> marked sent (database clock): p50 {percentile(queue_seconds, 50) * 1000:.0f} ms, "
        f"p95 {percentile(queue_seconds, 95) * 1000:.0f} ms"
    )
    print(
        "answer -> SMTP handover: "
        f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p95 {percentile(latencies, 95) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=10.0, help="new incidents (mails) per second")
    parser.add_argument("--background-rate", type=float, default=50.0, help="repeat webhooks per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    args.load_before = os.getloadavg()
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
