"""Integration fixtures: a running app's test client, an admin's bearer header, the Telegram Bot API stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from store.db import Database
from tests.support.api import bearer, running_app
from tests.support.telegram_api import FakeTelegramApi


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[Any]:
    """A test client of the app, started on this test's database."""
    async with running_app(database_url) as (_, test_client):
        yield test_client


@pytest.fixture
async def admin(db: Database) -> dict[str, str]:
    """Authorization header of a fresh admin token."""
    return await bearer(db, "admin")


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    """The Telegram Bot API stand-in on a free loopback port."""
    fake = await FakeTelegramApi().start()
    yield fake
    await fake.stop()
