"""Helpers for API tests: an app on the test database, tokens, and seeded incidents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol

from store.db import Database
from store.domain.config_schema import Config
from store.tokens import create_token
from web.app import create_app
from web.settings import HttpSettings, Settings

PUBLIC_URL = "https://tocsin.example"


def api_settings(database_url: str, **http: Any) -> Settings:
    """Settings for an app under test (no env read)."""
    base = Settings()
    return replace(
        base,
        http=replace(HttpSettings(public_url=PUBLIC_URL), **http),
        database=replace(base.database, url=database_url, max_open_conns=5, max_idle_conns=1),
    )


@asynccontextmanager
async def running_app(
    database_url: str, config: Config | None = None, **http: Any
) -> AsyncIterator[tuple[Quart, TestClientProtocol]]:
    """The app, serving (pool open), and its test client; `config` as if read from the config file."""
    app = create_app(api_settings(database_url, **http), database_url, config=config)
    async with app.test_app():
        yield app, app.test_client()


async def bearer(db: Database, role: str, name: str | None = None, user: str | None = None) -> dict[str, str]:
    """Authorization header of a new token of this role."""
    _, token = await create_token(db, name or f"{role}-token", role, user)
    return {"Authorization": f"Bearer {token}"}


async def seed_incident(db: Database, **fields: Any) -> int:
    """Insert one incident row directly (for list and stats tests); returns its id."""
    values = {
        "group_key": f"seed|{fields.get('title', 'x')}|{id(fields)}",
        "status": "triggered",
        "severity": "warning",
        "title": "seeded",
        "summary": "",
        "labels": {},
        **fields,
    }
    columns = ", ".join(values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    async with db.connection() as conn:
        return await conn.fetchval(
            f"INSERT INTO incidents ({columns}) VALUES ({params}) RETURNING id", *values.values()
        )
