"""The frame of the server benchmarks: a fresh seeded database, a viewer token, `tocsin serve`, the load average."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tests.support.postgres import TestPostgres
from tests.support.server import run_cli, serving

T = TypeVar("T")


def run_served(prepare: Callable[[str], Awaitable[T]], bench: Callable[[str, str, T], Awaitable[None]]) -> None:
    """prepare(dsn) on a fresh database, then bench(base_url, viewer_token, prepared) against `tocsin serve`."""
    print(f"load before: {os.getloadavg()}")
    server = TestPostgres()
    server.start()
    try:
        url = asyncio.run(server.fresh_database())
        prepared = asyncio.run(prepare(url))
        created = run_cli(url, "token", "create", "--name", "bench", "--role", "viewer")
        with serving(url, DB_MAX_OPEN_CONNS="10") as base:
            asyncio.run(bench(base, created.stdout.strip(), prepared))
        print(f"load after: {os.getloadavg()}")
    finally:
        server.stop()
