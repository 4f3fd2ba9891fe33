"""Scaling out: webhook ingestion with 1, 2 and 3 `tocsin serve` replicas on one PostgreSQL, and how fast
1, 2 and 3 replicas drain a delivery backlog (Slack messages to a local stand-in of Slack's Web API).

    /work/.venv/bin/python tests/perf/bench_replicas.py [--seconds 15] [--backlog 1000] [--dsn URL]

Without --dsn (or TEST_DATABASE_URL) it starts an embedded PostgreSQL in a temporary directory. The load
generator is loadgen.py's `unique` mix, its 100 connections split evenly over the replicas (no proxy in
between: a load balancer would take CPU from the same two cores). Every figure is for this machine only;
run `uptime` alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from store.embedded import EmbeddedPostgres  # noqa: E402
from store.migrate import upgrade_sync  # noqa: E402
from tests.perf import loadgen  # noqa: E402
from tests.support.chat_stack import SLACK_TOKEN, BackgroundLoop  # noqa: E402
from tests.support.cluster import Cluster, Peek  # noqa: E402
from tests.support.slack_api import SlackApi  # noqa: E402
from tests.support.webhook_load import Sender, group_body  # noqa: E402

TOKEN = "bench-token"
CHANNEL = "C0BENCH"


async def ingest(urls: list[str], seconds: float, connections: int) -> dict[str, Any]:
    """loadgen's unique mix against every replica at once; the summed figures."""
    per = max(1, connections // len(urls))
    runs = [
        loadgen.run_mix(loadgen.parse_args(["--url", u, "--token", TOKEN, "--duration", str(seconds),
                                            "--connections", str(per)]), "unique")
        for u in urls
    ]
    results = await asyncio.gather(*runs)
    return {
        "requests_per_s": round(sum(r["requests_per_s"] for r in results), 1),
        "p99_ms": max(r["p99_ms"] for r in results),
        "errors": sum(sum(r["errors"].values()) for r in results),
    }


def fill_backlog(dsn: str, workdir: Path, count: int) -> None:
    """Queue `count` Slack messages: incidents ingested by a replica with Slack's channel set but Slack off."""
    filler = Cluster(workdir, dsn, 1, WEBHOOK_TOKEN=TOKEN, SLACK_CHANNEL=CHANNEL, LOG_LEVEL="error").start()
    try:
        sender = Sender(filler.urls[0] + "/api/v1/webhooks/alertmanager", TOKEN)
        run = f"{time.time_ns()}"
        statuses = sender.post_all([group_body(f"drain-{run}-{n}", alerts=1) for n in range(count)], workers=8)
        assert set(statuses) == {200}, statuses
    finally:
        filler.stop()


def drain(dsn: str, workdir: Path, replicas: int, slack: SlackApi, count: int) -> dict[str, Any]:
    """Start replicas with Slack on and measure how fast they send the backlog."""
    db = Peek(dsn)
    pending = "SELECT count(*) FROM deliveries WHERE channel = 'slack' AND state <> 'sent'"
    assert db.value(pending) == count
    first = db.value("SELECT min(id) FROM deliveries WHERE channel = 'slack' AND state <> 'sent'")
    env = {"WEBHOOK_TOKEN": TOKEN, "SLACK_CHANNEL": CHANNEL, "SLACK_BOT_TOKEN": SLACK_TOKEN,
           "SLACK_SIGNING_SECRET": "bench", "SLACK_API_URL": slack.api_url, "LOG_LEVEL": "error"}
    cluster = Cluster(workdir, dsn, replicas, **env)
    cluster.start()
    try:
        deadline = time.monotonic() + 600
        while db.value(pending) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = db.value(pending)
    finally:
        cluster.stop()
    if left:  # no rate for a drain that did not finish: say what is left instead
        return {"messages": count, "unsent_after_600_s": left, "messages_per_s": None}
    # From the first message sent to the last, as PostgreSQL recorded them (replicas start at different times).
    span = db.value(
        "SELECT EXTRACT(EPOCH FROM max(sent_at) - min(sent_at))::float8 FROM deliveries "
        "WHERE channel = 'slack' AND id >= $1",
        first,
    )
    return {"messages": count, "seconds": round(span, 2), "messages_per_s": round(count / span, 1) if span else None}


def main() -> int:
    """Run both benchmarks for 1, 2 and 3 replicas and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="ingestion seconds per replica count")
    parser.add_argument("--connections", type=int, default=96, help="load connections in all")
    parser.add_argument("--backlog", type=int, default=2000, help="Slack messages to drain per replica count")
    parser.add_argument("--dsn", default=os.environ.get("TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="tocsin-bench-replicas-")
    workdir = Path(tmp.name)
    workdir.chmod(0o755)  # the embedded server runs as its own user when run as root
    embedded = None
    dsn = args.dsn
    if not dsn:
        embedded = EmbeddedPostgres(workdir / "pg")
        dsn = embedded.start()
    upgrade_sync(dsn)
    background = BackgroundLoop()
    slack = SlackApi(token=SLACK_TOKEN)
    background.run(slack.start())
    try:
        print(f"uptime: {os.getloadavg()}", flush=True)
        for n in (1, 2, 3):
            cluster = Cluster(workdir, dsn, n, WEBHOOK_TOKEN=TOKEN, LOG_LEVEL="error").start()
            try:
                result = asyncio.run(ingest(cluster.urls, args.seconds, args.connections))
            finally:
                cluster.stop()
            print(f"ingest  replicas={n} {result}", flush=True)
        for n in (1, 2, 3):
            fill_backlog(dsn, workdir, args.backlog)
            print(f"drain   replicas={n} {drain(dsn, workdir, n, slack, args.backlog)}", flush=True)
        print(f"uptime: {os.getloadavg()}", flush=True)
    finally:
        background.run(slack.stop())
        background.close()
        if embedded is not None:
            embedded.stop()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
