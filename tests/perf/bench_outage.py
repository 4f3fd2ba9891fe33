"""Benchmark Tocsin in an outage, not on a quiet day, and print every figure with the CPU it cost.

    .venv/bin/python tests/perf/bench_outage.py [--seconds 20] [--only NAME ...] [--seed-alerts 1000000]

It starts an embedded PostgreSQL (or uses --dsn / TEST_DATABASE_URL), a fresh database, stand-ins of
Slack's Web API and Telegram's Bot API on loopback and `tocsin serve` with a config whose catch-all route
escalates (a step at 0m to a Slack channel) and announces in a Telegram chat, then runs the scenarios one
after another, 100 connections each:

  unique, batch10, hot      the steady mixes of loadgen.py
  pair-unique, pair-batch10 every body posted twice at once (an Alertmanager high-availability pair)
  resend                    1,000 groups of 50 alerts, each resent as a whole (Alertmanager's group_interval)
  names500                  500 alertnames over 2,000 hosts, grouped by alertname (Alertmanager's default)
  mixed-one-group           10-alert webhooks of mixed alertnames: groupKey {}:{}, one group
  size                      the cost of one new alert, one repeat and a whole-group resend against the
                            incident's size (10, 100, 1,000, 5,000, 10,000 alerts), one request at a time
  flood                     one group growing to 10,000 alerts under 100 connections while a person
                            acknowledges and adds notes to its incident through the API and presses its
                            Acknowledge button in Slack and in Telegram (webhook mode), new incidents open
                            beside it (first Slack message latency) and the escalation lag is read from /metrics

CPU is read from /proc (psutil) for the Tocsin process, every PostgreSQL process and this load generator,
over each scenario: "cpu" is cores used on average, "ms/req" CPU milliseconds per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf import outage  # noqa: E402
from tests.perf.seed_alerts import seed  # noqa: E402
from tests.support.postgres import TestPostgres  # noqa: E402
from tests.support.server import free_port, run_cli, tocsin_env  # noqa: E402
from tests.support.slack_api import SlackApi, signed_headers  # noqa: E402
from tests.support.slack_payloads import click_body  # noqa: E402
from tests.support.telegram_api import TOKEN as TELEGRAM_TOKEN  # noqa: E402
from tests.support.telegram_api import FakeTelegramApi, callback_update, user_json  # noqa: E402

TOKEN = "bench-webhook-token"
CHANNEL = "C0OUTAGE"
SLACK_TOKEN = "xoxb-bench-token"
SLACK_SECRET = "bench-secret"
TELEGRAM_CHAT = -1001
TELEGRAM_SECRET = "bench-telegram-secret"
CONFIG = f"""
chat_strangers: act
escalation_policies:
  - id: page
    steps:
      - {{after: 0m, notify: ["slack_channel:{CHANNEL}"]}}
      - {{after: 30m, notify: ["slack_channel:{CHANNEL}"]}}
routes:
  - escalation: page
    slack_channel: {CHANNEL}
    telegram_chat: "{TELEGRAM_CHAT}"
"""
CONNECTIONS = 100
# Where a sampled stack's innermost frame is, by the path of its file (first match wins).
AREAS = (
    ("HTTP server (uvicorn, httptools)", ("uvicorn/", "httptools")),
    ("web framework (Quart, Werkzeug)", ("quart/", "werkzeug/", "flask/", "blinker/")),
    ("database driver (asyncpg)", ("asyncpg/",)),
    ("webhook parsing (webhook/)", ("webhook/",)),
    ("SQL calls (store/sql/)", ("store/sql/",)),
    ("ingest and intake (store/)", ("store/",)),
    ("metrics and the rest of web/", ("web/", "prometheus_client/")),
    ("event loop (asyncio, uvloop)", ("asyncio/", "uvloop", "runners.py", "selectors.py")),
)


class Cpu:
    """CPU seconds of Tocsin, this benchmark's PostgreSQL server and this process between start() and stop().

    PostgreSQL's backends come and go; each one's CPU is counted from when it was first seen (a backend that
    ends between two samples is lost: the figures are a lower bound when connections churn, which the
    pooled ones here do not)."""

    def __init__(self, tocsin_pid: int, postmaster_pid: int) -> None:
        self.tocsin = psutil.Process(tocsin_pid)
        self.postmaster = psutil.Process(postmaster_pid)
        self.me = psutil.Process()
        self.seen: dict[int, float] = {}

    def _postgres(self) -> float:
        total = 0.0
        for proc in [self.postmaster, *self.postmaster.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                self.seen[proc.pid] = t.user + t.system
            except psutil.Error:
                pass
        for used in self.seen.values():
            total += used
        return total

    def _sample(self) -> tuple[float, float, float, float]:
        t, m = self.tocsin.cpu_times(), self.me.cpu_times()
        return time.monotonic(), t.user + t.system, self._postgres(), m.user + m.system

    def start(self) -> None:
        """Remember the counters now."""
        self.begin = self._sample()

    def stop(self, requests: int) -> str:
        """Cores used by each side since start(), and CPU ms per request."""
        end = self._sample()
        wall = end[0] - self.begin[0]
        used = [end[i] - self.begin[i] for i in (1, 2, 3)]
        per = [f"{u / max(requests, 1) * 1000:.2f}" for u in used]
        return (f"cpu tocsin {used[0] / wall:.2f} postgres {used[1] / wall:.2f} loadgen {used[2] / wall:.2f} cores; "
                f"ms/req {per[0]}/{per[1]}/{per[2]}")


def _py_spy() -> str:
    """py-spy on PATH or beside this Python (a virtual environment's bin/, not activated)."""
    beside = Path(sys.executable).with_name("py-spy")
    found = shutil.which("py-spy") or (str(beside) if beside.exists() else None)
    if found is None:
        raise SystemExit("--profile needs py-spy: pip install -e '.[perf]'")
    return found


class Profile:
    """py-spy sampling the Tocsin process for one scenario: where its CPU went, by area of the code."""

    def __init__(self, pid: int, seconds: float, path: Path) -> None:
        self.path = path
        self.process = subprocess.Popen(
            [_py_spy(), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200", "-f", "raw", "-o", str(path),
             "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def report(self) -> str:
        """Share of the samples (innermost frame) in each area."""
        self.process.wait(60)
        counts = dict.fromkeys([name for name, _ in AREAS] + ["other"], 0)
        for raw in self.path.read_text().splitlines():
            stack, _, n = raw.rpartition(" ")
            if not stack:
                continue
            inner = stack.split(";")[-1]
            area = next((name for name, marks in AREAS if any(m in inner for m in marks)), "other")
            counts[area] += int(n)
        total = sum(counts.values()) or 1
        return "; ".join(f"{name} {n / total * 100:.0f}%" for name, n in counts.items() if n)


def line(name: str, figures: dict[str, Any], cpu: str) -> None:
    """Print one scenario's figures."""
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(figures["errors"].items())) or "none"
    print(f"{name:16} {figures['requests']:7d} req {figures['requests_per_s']:8.1f} req/s "
          f"{figures['alerts_per_s']:9.1f} alerts/s  p50 {figures['p50_ms']:7.1f} ms  p99 {figures['p99_ms']:7.1f} ms"
          f"  errors: {errors}  | {cpu}", flush=True)


@dataclass
class Chats:
    """The chats' stand-ins a served Tocsin talks to."""

    slack: SlackApi
    telegram: FakeTelegramApi


class Bench:
    """One served Tocsin and what the scenarios share."""

    def __init__(
        self, base: str, dsn: str, pid: int, postmaster: int, chats: Chats, responder: str, seconds: float
    ) -> None:
        self.base, self.dsn, self.pid, self.chats = base, dsn, pid, chats
        self.responder, self.seconds = responder, seconds
        self.profile: set[str] = set()
        self.workdir = Path(tempfile.gettempdir())
        self.run = f"{time.time_ns() % 10**10}"
        self.starts_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        self.cpu = Cpu(pid, postmaster)

    async def steady(self, name: str, source: outage.Source, alerts_per_body: int = 1) -> None:
        """Run one source for the configured seconds and print its line (and where Tocsin's CPU went)."""
        async with outage.session(TOKEN, CONNECTIONS) as http:
            profile = Profile(self.pid, self.seconds, self.workdir / f"{name}.prof") if name in self.profile else None
            self.cpu.start()
            figures = await outage.run_load(http, self.base, source, CONNECTIONS, self.seconds)
            line(name, figures.summary(), self.cpu.stop(len(figures.latencies)))
            if profile is not None:
                print(f"{'':16} Tocsin's CPU by area (py-spy): {profile.report()}", flush=True)

    async def query(self, sql: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def pairs(self, name: str, source: outage.Source) -> None:
        """Every body twice at once; then check nothing was doubled."""
        await self.steady(name, source)
        dup_incidents = await self.query(
            "SELECT count(*) FROM (SELECT group_key FROM incidents WHERE status <> 'resolved' "
            "GROUP BY group_key HAVING count(*) > 1) d")
        dup_alerts = await self.query(
            "SELECT count(*) FROM (SELECT fingerprint, starts_at FROM alerts GROUP BY 1, 2 HAVING count(*) > 1) d")
        print(f"{'':16} open incidents doubled: {dup_incidents}, alerts doubled: {dup_alerts}", flush=True)

    async def resend(self) -> None:
        """1,000 groups of 50 alerts posted once, then resent as wholes."""
        first, source = outage.whole_group_resends(self.run, self.starts_at)
        async with outage.session(TOKEN, 20) as http:
            sem = asyncio.Semaphore(20)

            async def one(data: bytes) -> None:
                async with sem:
                    await outage.post(http, self.base + outage.WEBHOOK, data)
            await asyncio.gather(*(one(b) for b in first))
        await self.steady("resend", source, 50)

    async def size(self) -> None:
        """One request at a time: new alert, repeat, whole-group resend, against the incident's size."""
        async with outage.session(TOKEN, 4, timeout=120) as http:
            url = self.base + outage.WEBHOOK
            print(f"{'size':16} {'alerts':>7} {'new p50':>9} {'new p90':>9} {'repeat p50':>11} {'resend p50':>11}"
                  "  (ms, 30 new / 30 repeats / 3 resends each)", flush=True)
            for size in (10, 100, 1000, 5000, 10000):
                name = f"S-{self.run}-{size}"
                alerts = [outage.alert(self.run, name, f"h{i}", self.starts_at) for i in range(size)]
                for start in range(0, size, 2000):
                    chunk = outage.body(alerts[start:start + 2000], {"alertname": name})
                    status, _ = await outage.post(http, url, chunk)
                    assert status == 200, status
                new, repeat, resend = [], [], []
                self.cpu.start()
                for n in range(30):
                    one = outage.alert(self.run, name, f"extra-{n}", self.starts_at)
                    status, took = await outage.post(http, url, outage.body([one], {"alertname": name}))
                    new.append(took * 1000)
                    status, took = await outage.post(http, url, outage.body([one], {"alertname": name}))
                    repeat.append(took * 1000)
                whole = outage.body(alerts, {"alertname": name})
                for _ in range(3):
                    status, took = await outage.post(http, url, whole)
                    resend.append(took * 1000)
                cpu = self.cpu.stop(63)
                new.sort()
                print(f"{'':16} {size:7d} {statistics.median(new):9.1f} {outage.pct(new, 90):9.1f} "
                      f"{statistics.median(repeat):11.1f} {statistics.median(resend):11.1f}  | {cpu}", flush=True)

    async def flood(self) -> None:
        """One group grows to 10,000 alerts; clicks, new incidents and escalation measured meanwhile."""
        name = f"F-{self.run}"
        async with outage.session(TOKEN, CONNECTIONS + 8) as http:
            first = outage.body([outage.alert(self.run, name, "seed", self.starts_at)], {"alertname": name})
            status, _ = await outage.post(http, self.base + outage.WEBHOOK, first)
            incident = await self.query("SELECT id FROM incidents WHERE title LIKE $1", f"{name}%")
            done = asyncio.Event()
            size = [1]

            def full() -> bool:
                return done.is_set()

            async def watch_size() -> None:
                while not done.is_set():
                    size[0] = await self.query("SELECT alert_count FROM incidents WHERE id = $1", incident)
                    if size[0] >= 10_000:
                        done.set()
                    await asyncio.sleep(0.5)

            clicks = Clicks(http, self.base, self.responder, self.chats, incident).run(done)
            opens = await_first_messages(http, self.base, self.chats.slack, self.run, self.starts_at, done)
            lag = await_escalation_lag(http, self.base, done)
            self.cpu.start()
            started = time.monotonic()
            load = outage.run_load(http, self.base, outage.one_group_growing(self.run, self.starts_at, name),
                                   CONNECTIONS, max(self.seconds, 120), stop=full)
            limit = _finish(done, max(self.seconds, 120))
            results = await asyncio.gather(load, watch_size(), clicks, opens, lag, limit)
            figures = results[0]
            line("flood", figures.summary(), self.cpu.stop(len(figures.latencies)))
            took = time.monotonic() - started
            print(f"{'':16} incident #{incident} reached {size[0]} alerts in {took:.1f} s", flush=True)
            for text in results[2:5]:
                print(f"{'':16} {text}", flush=True)


async def _finish(done: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(done.wait(), seconds)
    except TimeoutError:
        done.set()


CLICK_KINDS = ("acknowledge", "note", "Slack button", "Telegram button")


class Clicks:
    """A person on the flooded incident, 4 times a second: the REST API's acknowledge (200 once, then 409: both
    take the incident's lock) and note, then Slack's and Telegram's Acknowledge buttons, each timed until its
    answer reached the person (the API's response; Slack's reply at the response_url; answerCallbackQuery)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str, chats: Chats, incident: int) -> None:
        self.http, self.base, self.chats, self.incident = http, base, chats, incident
        self.auth = {"Authorization": f"Bearer {token}"}
        self.times: dict[str, list[float]] = {kind: [] for kind in CLICK_KINDS}
        self.statuses: dict[str, int] = {}
        self.rounds = 0

    async def run(self, done: asyncio.Event) -> str:
        """Click until done; the figures of every kind."""
        while not done.is_set():
            self.rounds += 1
            await self.api("acknowledge", {"by": "bench"})
            await self.api("note", {"text": "looking"})
            await self.slack_button()
            await self.telegram_button()
            await asyncio.sleep(0.25)
        parts = []
        for kind, times in self.times.items():
            times.sort()
            parts.append(f"{kind} p50 {outage.pct(times, 50):.1f} p99 {outage.pct(times, 99):.1f} max {times[-1]:.1f}")
        return f"clicks (ms, {self.rounds} of each): " + "; ".join(parts) + f" {self.statuses}"

    def _count(self, what: str) -> None:
        self.statuses[what] = self.statuses.get(what, 0) + 1

    async def api(self, kind: str, payload: dict[str, str]) -> None:
        path = "acknowledge" if kind == "acknowledge" else "notes"
        started = time.monotonic()
        async with self.http.post(f"{self.base}/api/v1/incidents/{self.incident}/{path}", json=payload,
                                  headers=self.auth) as r:
            await r.read()
            self._count(f"{kind} {r.status}")
        self.times[kind].append((time.monotonic() - started) * 1000)

    async def slack_button(self) -> None:
        name = f"click-{self.rounds}"
        body = click_body("ack_incident", str(self.incident), self.chats.slack.response_url(name))
        started = time.monotonic()
        async with self.http.post(self.base + "/slack/events", data=body,
                                  headers=signed_headers(SLACK_SECRET, body)) as r:
            await r.read()
            self._count(f"slack {r.status}")
        answered = await _seen(lambda: self.chats.slack.response_times.get(name))
        self.times["Slack button"].append((answered - started) * 1000)
        reply = next((r.get("text", "") for r in self.chats.slack.responses if r["name"] == name), "")
        self._count("slack reply " + _said(reply))

    async def telegram_button(self) -> None:
        query = f"q{self.rounds}"
        update = {"update_id": self.rounds,
                  **callback_update(f"ack:{self.incident}", TELEGRAM_CHAT, user_json(111111), query_id=query)}
        started = time.monotonic()
        async with self.http.post(self.base + "/telegram/webhook", json=update,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}) as r:
            await r.read()
            self._count(f"telegram {r.status}")

        def answer() -> Any:
            calls = self.chats.telegram.calls_to("answerCallbackQuery")
            return next((c for c in reversed(calls) if c.params.get("callback_query_id") == query), None)
        answered = await _seen(lambda: getattr(answer(), "at", None))
        self.times["Telegram button"].append((answered - started) * 1000)
        self._count("telegram reply " + _said(answer().params.get("text", "") if answer() else ""))


def _said(reply: str) -> str:
    """What a chat's answer to the button said, in short."""
    return "already acknowledged" if "already acknowledged" in reply else f"other: {reply[:60]!r}"


async def _seen(when: Callable[[], float | None], within: float = 10.0) -> float:
    """The time.monotonic() at which something was recorded (polled every 2 ms); infinity if not within bound."""
    deadline = time.monotonic() + within
    while (at := when()) is None:
        if time.monotonic() > deadline:
            return float("inf")
        await asyncio.sleep(0.002)
    return at


async def await_first_messages(
    http: aiohttp.ClientSession, base: str, slack: SlackApi, run: str, starts_at: str, done: asyncio.Event
) -> str:
    """Open a new incident every second; time from its webhook's answer to its first chat.postMessage."""
    waits: list[float] = []
    n = 0
    while not done.is_set():
        name = f"O-{run}-{n}"
        n += 1
        data = outage.body([outage.alert(run, name, "h0", starts_at)], {"alertname": name})
        status, _ = await outage.post(http, base + outage.WEBHOOK, data)
        answered = time.monotonic()
        if status != 200:
            continue
        while time.monotonic() - answered < 30:
            posted = [c for c in slack.calls_to("chat.postMessage") if name in str(c.args.get("text", ""))]
            if posted:
                waits.append(posted[0].at - answered)
                break
            await asyncio.sleep(0.02)
        else:
            waits.append(float("inf"))
        await asyncio.sleep(max(0.0, 1 - (time.monotonic() - answered)))
    waits.sort()
    shown = ", ".join(f"{w:.2f}" for w in waits[-3:])
    return (f"first Slack message after opening: p50 {outage.pct(waits, 50):.2f} s, max {waits[-1]:.2f} s "
            f"({len(waits)} incidents; slowest {shown} s)")


async def await_escalation_lag(http: aiohttp.ClientSession, base: str, done: asyncio.Event) -> str:
    """Read tocsin_escalation_lag_seconds from /metrics every half second; the largest value seen."""
    seen: list[float] = []
    pattern = re.compile(r"^tocsin_escalation_lag_seconds (\S+)$", re.M)
    while not done.is_set():
        async with http.get(base + "/metrics") as r:
            found = pattern.search(await r.text())
        if found:
            seen.append(float(found.group(1)))
        await asyncio.sleep(0.5)
    return f"escalation lag (/metrics): max {max(seen, default=float('nan')):.2f} s over {len(seen)} readings"


SCENARIOS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "unique": lambda b: b.steady("unique", outage.unique_groups(b.run, b.starts_at)),
    "batch10": lambda b: b.steady("batch10", outage.batch10(b.run, b.starts_at), 10),
    "hot": lambda b: b.steady("hot", outage.hot(b.run, b.starts_at)),
    "pair-unique": lambda b: b.pairs("pair-unique", outage.unique_groups(b.run + "p", b.starts_at, pair=True)),
    "pair-batch10": lambda b: b.pairs("pair-batch10", outage.batch10(b.run + "p", b.starts_at, pair=True)),
    "resend": lambda b: b.resend(),
    "names500": lambda b: b.steady("names500", outage.names_over_hosts(b.run, b.starts_at)),
    "mixed-one-group": lambda b: b.steady("mixed-one-group", outage.mixed_names_one_group(b.run, b.starts_at), 10),
    "size": lambda b: b.size(),
    "flood": lambda b: b.flood(),
}


CHAT_SCENARIOS = {"flood"}  # need the Slack stand-in and the escalating route; the rest run with no channel


async def bench(args: argparse.Namespace, dsn: str, workdir: Path) -> None:
    """Run the chosen scenarios, each against a Tocsin served for its kind (plain, or with Slack and escalation)."""
    chosen = args.only or list(SCENARIOS)
    print(f"load before: {os.getloadavg()}  ({args.env or 'default settings'})", flush=True)
    for chat in (False, True):
        names = [n for n in chosen if (n in CHAT_SCENARIOS) == chat]
        if names:
            await _serve_and_run(args, dsn, workdir, chat, names)
    print(f"load after: {os.getloadavg()}", flush=True)


async def _serve_and_run(args: argparse.Namespace, dsn: str, workdir: Path, chat: bool, names: list[str]) -> None:
    chats = Chats(await SlackApi(token=SLACK_TOKEN).start(), await FakeTelegramApi([TELEGRAM_TOKEN]).start())
    extra = dict(args.env)
    if chat:
        config = workdir / "tocsin.yml"
        config.write_text(CONFIG)
        extra.update(TOCSIN_CONFIG=str(config), SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET=SLACK_SECRET,
                     SLACK_API_URL=chats.slack.api_url, TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
                     TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET, TELEGRAM_CHAT_ID=str(TELEGRAM_CHAT),
                     TELEGRAM_API_URL=chats.telegram.url)
    name = f"bench-{time.time_ns()}"
    responder = run_cli(dsn, "token", "create", "--name", name, "--role", "responder").stdout.strip()
    port = free_port()
    env = tocsin_env(dsn, HOST="127.0.0.1", PORT=str(port), WEBHOOK_TOKEN=TOKEN, **extra)
    if chat:
        env["PUBLIC_URL"] = f"http://127.0.0.1:{port}"  # Telegram's webhook is registered there
    log_path = workdir / f"tocsin-{'chat' if chat else 'plain'}.log"
    process = await asyncio.to_thread(_launch, env, log_path)
    base = f"http://127.0.0.1:{port}"
    try:
        await _ready(base, process)
        b = Bench(base, dsn, process.pid, args.postmaster, chats, responder, args.seconds)
        b.profile, b.workdir = set(args.profile), workdir
        served = "Slack and Telegram stand-ins + escalating route" if chat else "no channels"
        print(f"-- tocsin serve pid {process.pid}, {served}", flush=True)
        for scenario in names:
            await SCENARIOS[scenario](b)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
        await chats.slack.stop()
        await chats.telegram.stop()
        errors = [x for x in log_path.read_text(errors="replace").splitlines() if "ERROR" in x or "Traceback" in x]
        if errors:
            print(f"tocsin log: {len(errors)} error lines, first: {errors[0][:200]}")


def _launch(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)


async def _ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit(f"tocsin serve exited with {process.returncode}")
            try:
                async with http.get(base + "/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("tocsin serve did not become ready")


def _postmaster(server: TestPostgres) -> int:
    """The PID of the benchmark's PostgreSQL server (its data directory's postmaster.pid)."""
    conn_url = server.server_url

    async def data_dir() -> str:
        conn = await asyncpg.connect(conn_url)
        try:
            return await conn.fetchval("SHOW data_directory")
        finally:
            await conn.close()
    return int((Path(asyncio.run(data_dir())) / "postmaster.pid").read_text().split()[0])


def main() -> None:
    """Parse options, prepare the database, run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="seconds per steady scenario (default 20)")
    parser.add_argument("--only", nargs="*", choices=list(SCENARIOS), help="scenarios to run (default: all)")
    parser.add_argument("--seed-alerts", type=int, default=0, help="store this many alerts first (e.g. 1000000)")
    parser.add_argument("--dsn", default=os.environ.get("TEST_DATABASE_URL", ""), help="a PostgreSQL server URL")
    parser.add_argument("--env", nargs="*", default=[], help="extra NAME=value settings for tocsin serve")
    parser.add_argument("--profile", nargs="*", default=[], choices=list(SCENARIOS),
                        help="steady scenarios to sample with py-spy (pip install py-spy; the perf extra has it)")
    args = parser.parse_args()
    args.env = dict(item.split("=", 1) for item in args.env)
    server = TestPostgres()
    if args.dsn:
        server.server_url = args.dsn
    server.start()
    try:
        args.postmaster = _postmaster(server)
        dsn = asyncio.run(server.fresh_database())
        if args.seed_alerts:
            started = time.monotonic()
            asyncio.run(seed(dsn, args.seed_alerts, 10))
            print(f"seeded {args.seed_alerts} alerts in {time.monotonic() - started:.0f} s", flush=True)
        with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as workdir:
            asyncio.run(bench(args, dsn, Path(workdir)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
