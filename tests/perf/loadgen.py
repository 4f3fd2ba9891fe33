"""Load generator: Alertmanager webhooks over N concurrent connections to a running Tocsin.

    python tests/perf/loadgen.py --url http://127.0.0.1:8080 --token T --mix unique --duration 30

Mixes (see tests/perf/README.md): `unique` single-alert groups never seen before; `batch10` 10-alert
webhooks where each group is posted several times, about half of each body repeating the previous one;
`hot` a fixed set of 20 single-alert groups posted again and again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

try:
    from tests.perf.outage import alert, body
except ModuleNotFoundError:  # run as a script from anywhere: its folder is on the path
    from outage import alert, body  # type: ignore[no-redef]

PATH = "/api/v1/webhooks/alertmanager"
MIXES = ("unique", "batch10", "hot")
REQUESTS_PER_GROUP = 10  # batch10: posts of one group before a new group starts
HOT_SET = 20


def _alert(run: str, name: str, index: int, starts_at: str) -> dict[str, Any]:
    return alert(run, name, f"host-{index}", starts_at)


def _body(name: str, alerts: list[dict[str, Any]]) -> bytes:
    return body(alerts, {"alertname": name})


def bodies(mix: str, run: str, worker: int, starts_at: str) -> Iterator[tuple[bytes, int]]:
    """Endless (body, alert count) pairs of one mix for one connection; runs never collide."""
    n = 0
    while True:
        if mix == "unique":
            name = f"Load-{run}-{worker}-{n}"
            yield _body(name, [_alert(run, name, 0, starts_at)]), 1
        elif mix == "batch10":
            group, step = divmod(n, REQUESTS_PER_GROUP)
            name = f"Batch-{run}-{worker}-{group}"
            # step k sends alerts 5k..5k+9: the first five were in the previous post of this group
            alerts = [_alert(run, name, i, starts_at) for i in range(5 * step, 5 * step + 10)]
            yield _body(name, alerts), 10
        else:
            index = (worker + n) % HOT_SET
            name = f"Hot-{run}-{index}"
            yield _body(name, [_alert(run, name, index, starts_at)]), 1
        n += 1


@dataclass
class Stats:
    """What the connections measured."""

    latencies: list[float] = field(default_factory=list)
    alerts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0


async def _connection(
    session: aiohttp.ClientSession, url: str, mix: str, run: str, worker: int, starts_at: str,
    deadline: float, budget: list[int], stats: Stats,
) -> None:
    for body, count in bodies(mix, run, worker, starts_at):
        if time.monotonic() >= deadline or budget[0] <= 0:
            return
        budget[0] -= 1
        started = time.perf_counter()
        try:
            async with session.post(url, data=body) as response:
                await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            stats.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.05)  # a refused connection fails at once: do not spin
            continue
        stats.latencies.append(time.perf_counter() - started)
        stats.sent += 1
        if status == 200:
            stats.alerts += count
        else:
            stats.errors[str(status)] += 1


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the samples fall (nearest rank)."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]


async def run_mix(args: argparse.Namespace, mix: str) -> dict[str, Any]:
    """Run one mix and return its figures."""
    run = uuid.uuid4().hex[:8]
    starts_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    headers = {"Content-Type": "application/json"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    connector = aiohttp.TCPConnector(limit=args.connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    stats = Stats()
    budget = [args.requests]
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session:
        started = time.monotonic()
        deadline = started + args.duration
        await asyncio.gather(
            *(
                _connection(session, args.url.rstrip("/") + PATH, mix, run, w, starts_at, deadline, budget, stats)
                for w in range(args.connections)
            )
        )
        elapsed = time.monotonic() - started
    lat = sorted(stats.latencies)
    return {
        "mix": mix,
        "seconds": round(elapsed, 2),
        "requests": stats.sent,
        "requests_per_s": round(stats.sent / elapsed, 1),
        "alerts_per_s": round(stats.alerts / elapsed, 1),
        "p50_ms": round(percentile(lat, 0.50) * 1000, 1),
        "p95_ms": round(percentile(lat, 0.95) * 1000, 1),
        "p99_ms": round(percentile(lat, 0.99) * 1000, 1),
        "errors": dict(stats.errors),
    }


def _print(result: dict[str, Any]) -> None:
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(result["errors"].items())) or "none"
    print(
        f"{result['mix']:8} {result['requests']:7d} req in {result['seconds']:6.1f}s  "
        f"{result['requests_per_s']:8.1f} req/s  {result['alerts_per_s']:9.1f} alerts/s  "
        f"p50 {result['p50_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
        f"errors: {errors}",
        flush=True,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Post Alertmanager webhooks to a running Tocsin.")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="Tocsin's base URL")
    parser.add_argument("--token", default="", help="WEBHOOK_TOKEN of the server (sent as a bearer token)")
    parser.add_argument("--mix", choices=(*MIXES, "all"), default="all", help="which load (default: all three)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per mix (default 30)")
    parser.add_argument("--requests", type=int, default=1_000_000, help="request cap per mix")
    parser.add_argument("--connections", type=int, default=100, help="concurrent connections (default 100)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON object per mix instead of a line")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.requests <= 0 or args.connections <= 0:
        parser.error("--duration, --requests and --connections must be positive")
    return args


async def main(argv: list[str] | None = None) -> int:
    """Run the chosen mixes one after another; exit 1 if any request failed."""
    args = parse_args(argv)
    failed = False
    for mix in MIXES if args.mix == "all" else (args.mix,):
        result = await run_mix(args, mix)
        print(json.dumps(result), flush=True) if args.json else _print(result)
        failed = failed or bool(result["errors"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
