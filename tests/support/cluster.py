"""Several `tocsin serve` replicas on one database behind a round-robin load balancer, for the fault suite."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from tests.support.loopback import serve
from tests.support.server import TocsinProcess, tocsin_env

HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive"})


class LoadBalancer:
    """A round-robin HTTP reverse proxy on loopback. Like nginx's defaults, a backend that refuses the connection
    is skipped (the next one gets the request); one that drops it mid-request gives the client a 502."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.answered: Counter[str] = Counter()  # requests each backend answered
        self.statuses: Counter[int] = Counter()
        self._next = itertools.cycle(range(len(backends)))
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL clients use."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> LoadBalancer:
        """Listen on a free loopback port."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._proxy)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _proxy(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        for _ in range(len(self.backends)):
            backend = self.backends[next(self._next)]
            try:
                async with self._session.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as response:
                    data = await response.read()
                    content_type = response.headers.get("Content-Type", "application/octet-stream")
            except aiohttp.ClientConnectorError:
                continue  # refused: the replica is down; try the next
            except (aiohttp.ClientError, TimeoutError):
                self.statuses[502] += 1
                return web.Response(status=502, text="upstream dropped the request")
            self.answered[backend] += 1
            self.statuses[response.status] += 1
            return web.Response(status=response.status, body=data, headers={"Content-Type": content_type})
        self.statuses[502] += 1
        return web.Response(status=502, text="no replica reachable")


class Cluster:
    """N replicas of `tocsin serve` with the same environment on one database."""

    def __init__(self, workdir: Path, database_url: str, count: int, **env: str) -> None:
        base = {**tocsin_env(database_url), **env}
        self.replicas = [TocsinProcess(base, workdir / f"tocsin-{i}.log") for i in range(count)]
        for replica in self.replicas:
            for name in [k for k in replica.env if k.startswith(("TOCSIN_", "SLACK_", "TELEGRAM_", "EMAIL_"))]:
                if name not in env:
                    del replica.env[name]

    @property
    def urls(self) -> list[str]:
        """Base URLs of the replicas."""
        return [r.url for r in self.replicas]

    def start(self, which: Iterable[int] | None = None, timeout: float = 90) -> Cluster:
        """Start the replicas side by side (all, or those listed) and wait until each is ready."""
        chosen = [self.replicas[i] for i in (range(len(self.replicas)) if which is None else which)]
        for replica in chosen:
            replica.launch()
        for replica in chosen:
            replica.wait_ready(timeout)
        return self

    def kill(self, index: int) -> None:
        """SIGKILL one replica (no shutdown code runs) and reap it."""
        proc = self.replicas[index].proc
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        """SIGTERM every live replica."""
        for replica in self.replicas:
            with contextlib.suppress(Exception):  # stop the others anyway; stop() has killed a stuck one
                replica.stop()

    def logs(self) -> str:
        """The tail of every replica's log, for failure messages."""
        return "\n".join(f"--- {r.log_path.name}\n{r.log()[-3000:]}" for r in self.replicas)


class Peek:
    """Synchronous reads of the test database from a synchronous test."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Run one query on a new connection."""

        async def run() -> list[dict[str, Any]]:
            conn = await asyncpg.connect(self.url, timeout=5)
            try:
                return [dict(r) for r in await conn.fetch(sql, *args)]
            finally:
                await conn.close()

        return asyncio.run(run())

    def value(self, sql: str, *args: Any) -> Any:
        """The first column of the first row."""
        found = self.rows(sql, *args)
        return next(iter(found[0].values())) if found else None

    def delivery_states(self) -> Counter[str]:
        """How many delivery rows are in each state."""
        found = self.rows("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        return Counter({r["state"]: r["n"] for r in found})

    def settled(self) -> bool:
        """Every delivery row is sent (none waiting, in flight or failed)."""
        states = self.delivery_states()
        return bool(states) and set(states) == {"sent"}
