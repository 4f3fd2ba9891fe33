"""Webhook bodies and a bounded load runner for outage-like benchmarks (run by hand, not collected).

An outage is not a quiet day: one Alertmanager group holds thousands of alerts, a high-availability pair
posts every body twice, whole groups are resent every `group_interval`, and somebody clicks while it
happens. The bodies here are shaped like Alertmanager 0.25's (tests/fixtures).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

WEBHOOK = "/api/v1/webhooks/alertmanager"
SEVERITIES = ("critical", "warning", "info")


def alert(run: str, name: str, host: str, starts_at: str, **extra: str) -> dict[str, Any]:
    """One firing alert of `name` on `host`; its fingerprint follows from its labels as in Alertmanager."""
    labels = {"alertname": name, "instance": f"{host}:9100", "job": "node", "run": run, **extra}
    labels.setdefault("severity", SEVERITIES[sum(host.encode()) % 3])
    fingerprint = uuid.uuid5(uuid.NAMESPACE_OID, json.dumps(labels, sort_keys=True)).hex[:16]
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": f"{name} on {host}", "runbook_url": "https://runbooks.example/outage"},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def body(alerts: list[dict[str, Any]], group_labels: dict[str, str]) -> bytes:
    """A version 4 webhook body for one group (groupKey from the group labels, as Alertmanager builds it)."""
    matchers = ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return json.dumps(
        {
            "version": "4",
            "groupKey": f"{{}}:{{{matchers}}}",
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "tocsin",
            "groupLabels": group_labels,
            "commonLabels": group_labels,
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example:9093",
            "alerts": alerts,
        }
    ).encode()


# A source yields (body, alerts in it) for connection number `worker`; several connections may share bodies.
Source = Callable[[int], Iterator[tuple[bytes, int]]]


@dataclass
class Figures:
    """What the connections of one load measured."""

    latencies: list[float] = field(default_factory=list)
    alerts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Requests and alerts per second, percentiles in ms, errors by status."""
        lat = sorted(self.latencies)
        return {
            "requests": len(lat),
            "requests_per_s": round(len(lat) / self.seconds, 1) if self.seconds else 0.0,
            "alerts_per_s": round(self.alerts / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(pct(lat, 50) * 1000, 1),
            "p99_ms": round(pct(lat, 99) * 1000, 1),
            "errors": dict(self.errors),
        }


def pct(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values (nan when empty)."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def post(session: aiohttp.ClientSession, url: str, data: bytes) -> tuple[int, float]:
    """One POST: (status, seconds); status 0 for a connection error or timeout."""
    started = time.perf_counter()
    try:
        async with session.post(url, data=data) as response:
            await response.read()
            return response.status, time.perf_counter() - started
    except (TimeoutError, aiohttp.ClientError):
        return 0, time.perf_counter() - started


async def run_load(
    session: aiohttp.ClientSession, base: str, source: Source, connections: int, seconds: float,
    stop: Callable[[], bool] = lambda: False,
) -> Figures:
    """`connections` concurrent posters drawing from `source`, for at most `seconds` (or until `stop()`)."""
    figures = Figures()
    deadline = time.monotonic() + seconds

    async def connection(worker: int) -> None:
        for data, count in source(worker):
            if time.monotonic() >= deadline or stop():
                return
            status, took = await post(session, base + WEBHOOK, data)
            figures.latencies.append(took)
            if status == 200:
                figures.alerts += count
            else:
                figures.errors[str(status)] += 1
                if status == 0:
                    await asyncio.sleep(0.05)

    started = time.monotonic()
    await asyncio.gather(*(connection(w) for w in range(connections)))
    figures.seconds = time.monotonic() - started
    return figures


def session(token: str, connections: int, timeout: float = 60) -> aiohttp.ClientSession:
    """A client session with the webhook token, JSON content type and a connection per poster."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=connections + 8)
    return aiohttp.ClientSession(connector=connector, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout))


def unique_groups(run: str, starts_at: str, pair: bool = False) -> Source:
    """Single-alert webhooks, each a new group; with `pair`, connections 2k and 2k+1 post the same bodies."""
    def source(worker: int) -> Iterator[tuple[bytes, int]]:
        owner = worker // 2 if pair else worker
        n = 0
        while True:
            name = f"U-{run}-{owner}-{n}"
            yield body([alert(run, name, "h0", starts_at)], {"alertname": name}), 1
            n += 1
    return source


def batch10(run: str, starts_at: str, pair: bool = False) -> Source:
    """10-alert webhooks; each group posted 10 times, each post repeating half of the previous one."""
    def source(worker: int) -> Iterator[tuple[bytes, int]]:
        owner = worker // 2 if pair else worker
        n = 0
        while True:
            group, step = divmod(n, 10)
            name = f"B-{run}-{owner}-{group}"
            alerts = [alert(run, name, f"h{i}", starts_at) for i in range(5 * step, 5 * step + 10)]
            yield body(alerts, {"alertname": name}), 10
            n += 1
    return source


def hot(run: str, starts_at: str) -> Source:
    """A fixed set of 20 single-alert groups posted again and again (pure repeats)."""
    def source(worker: int) -> Iterator[tuple[bytes, int]]:
        n = 0
        while True:
            name = f"H-{run}-{(worker + n) % 20}"
            yield body([alert(run, name, "h0", starts_at)], {"alertname": name}), 1
            n += 1
    return source


def one_group_growing(run: str, starts_at: str, name: str) -> Source:
    """Single-alert webhooks, each a new host of the same group `name` (one incident keeps growing)."""
    def source(worker: int) -> Iterator[tuple[bytes, int]]:
        n = 0
        while True:
            yield body([alert(run, name, f"w{worker}-{n}", starts_at)], {"alertname": name}), 1
            n += 1
    return source


def names_over_hosts(run: str, starts_at: str, names: int = 500, hosts: int = 2000) -> Source:
    """Alertmanager's default `group_by: [alertname]`: 500 names, each alert on a random one of many hosts."""
    def source(worker: int) -> Iterator[tuple[bytes, int]]:
        rng = random.Random(worker)
        while True:
            name = f"N-{run}-{rng.randrange(names)}"
            yield body([alert(run, name, f"h{rng.randrange(hosts)}", starts_at)], {"alertname": name}), 1
    return source


def mixed_names_one_group(run: str, starts_at: str) -> Source:
    """10-alert webhooks whose alerts carry different alertnames, so groupKey is `{}:{}`: one group."""
    def source(worker: int) -> Iterator[tuple[bytes, int]]:
        rng = random.Random(worker)
        while True:
            alerts = [alert(run, f"M-{rng.randrange(500)}", f"h{rng.randrange(50)}", starts_at) for _ in range(10)]
            yield body(alerts, {}), 10
    return source


def whole_group_resends(run: str, starts_at: str, groups: int = 1000, size: int = 50) -> tuple[list[bytes], Source]:
    """The first post of each of `groups` groups of `size` alerts, and a source resending whole groups."""
    bodies = [
        body([alert(run, f"R-{run}-{g}", f"h{i}", starts_at) for i in range(size)], {"alertname": f"R-{run}-{g}"})
        for g in range(groups)
    ]

    def source(worker: int) -> Iterator[tuple[bytes, int]]:
        rng = random.Random(worker)
        while True:
            yield bodies[rng.randrange(groups)], size
    return bodies, source
