"""Real PostgreSQL for tests: the embedded server (or TEST_DATABASE_URL), a migrated template, a fresh copy per test."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from store.embedded import EmbeddedPostgres
from store.migrate import upgrade_sync

# One template per pytest-xdist worker: with TEST_DATABASE_URL the workers share one server, and each drops and
# rebuilds its template at start.
TEMPLATE = "_".join(filter(None, ["tocsin_test_template", os.environ.get("PYTEST_XDIST_WORKER")]))
# Only the embedded server of a test run, never TEST_DATABASE_URL's: its files are thrown away at the end, so
# nothing needs to survive an operating-system crash. Each test clones and drops a database (a checkpoint each);
# without flushes to disk the pair takes 0.1 s instead of 0.25-0.33 s. A killed or restarted PostgreSQL still
# loses nothing: what it wrote is in the page cache.
THROWAWAY_SERVER = {"fsync": "off", "full_page_writes": "off"}


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class TestPostgres:
    """One server for the whole run; each test gets its own database cloned from a migrated template."""

    def __init__(self) -> None:
        self.embedded: EmbeddedPostgres | None = None
        self.server_url = os.environ.get("TEST_DATABASE_URL", "")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> None:
        """Start the embedded server unless TEST_DATABASE_URL is given, and build the template."""
        if not self.server_url:
            self._tmp = tempfile.TemporaryDirectory(prefix="tocsin-test-pg-")
            self.embedded = EmbeddedPostgres(Path(self._tmp.name))
            self.server_url = self.embedded.start()
            asyncio.run(self._configure(THROWAWAY_SERVER))
        asyncio.run(self._recreate(TEMPLATE))
        upgrade_sync(with_database(self.server_url, TEMPLATE))

    async def _configure(self, settings: dict[str, str]) -> None:
        conn = await asyncpg.connect(self.server_url)
        try:
            for name, value in settings.items():
                await conn.execute(f"ALTER SYSTEM SET {name} = {value}")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    async def _recreate(self, name: str, template: str | None = None) -> None:
        conn = await asyncpg.connect(self.server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            clause = f' TEMPLATE "{template}" STRATEGY file_copy' if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{clause}')
        finally:
            await conn.close()

    async def fresh_database(self) -> str:
        """A new, migrated, empty database; returns its URL."""
        name = f"tocsin_test_{uuid.uuid4().hex[:12]}"
        await self._recreate(name, TEMPLATE)
        return with_database(self.server_url, name)

    async def drop(self, url: str) -> None:
        """Drop a database made by fresh_database."""
        name = urlsplit(url).path.lstrip("/")
        conn = await asyncpg.connect(self.server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def stop(self) -> None:
        """Stop the embedded server and remove its files."""
        if self.embedded is not None:
            self.embedded.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
