"""Apply alembic migrations (under an advisory lock, see migrations/env.py) and compare heads."""

from __future__ import annotations

import asyncio
from importlib import resources

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def alembic_config(dsn: str) -> Config:
    """An alembic Config pointing at the installed migrations package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("migrations")))
    cfg.attributes["dsn"] = dsn
    return cfg


def expected_heads() -> set[str]:
    """The revisions a current database is at."""
    return set(ScriptDirectory.from_config(alembic_config("")).get_heads())


def upgrade_sync(dsn: str) -> None:
    """Apply every pending migration (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(dsn), "heads")


async def upgrade(dsn: str) -> None:
    """Apply every pending migration from async code."""
    await asyncio.to_thread(upgrade_sync, dsn)


async def applied_heads(conn: asyncpg.Connection) -> set[str]:
    """The revisions recorded in the database (empty before the first migration)."""
    exists = await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
    if not exists:
        return set()
    return {r["version_num"] for r in await conn.fetch("SELECT version_num FROM alembic_version")}
