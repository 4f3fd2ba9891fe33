"""The config file's side of `tocsin serve` (web/config_sync.py) with TOCSIN_CONFIG_WATCH: an edited file is
stored as a new version and taken at once, a bad one changes nothing and is logged, and a file that could not be
stored because the database failed is stored once it works again."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from store import config_versions
from store.db import Database
from store.domain.config_schema import Config
from store.runtime import Runtime
from store.sql import config_versions as versions_sql
from tests.support.escalation import CONFIG_DATA
from tests.support.waiting import eventually
from web.config_sync import ConfigSync
from web.settings import Settings

WATCH_EVERY = 0.05


def edited(**changes: object) -> str:
    """The test config with top-level sections replaced."""
    return yaml.safe_dump({**CONFIG_DATA, **changes})


@pytest.fixture
async def watched(db: Database, tmp_path: Path) -> AsyncIterator[tuple[ConfigSync, Path]]:
    """A replica's config sync started on a good file with the watch on (its periodic database check is off)."""
    path = tmp_path / "tocsin.yml"
    path.write_text(edited())
    settings = replace(Settings(), config_path=path, config_watch=True)
    sync = ConfigSync(settings, Runtime(db=db, config=Config()), Config(), watch_every=WATCH_EVERY)
    sync.live.interval = 3600.0  # only the watch and NOTIFY move this replica here
    await sync.start()
    try:
        yield sync, path
    finally:
        await sync.stop()


async def versions(db: Database) -> list[tuple[int, str]]:
    async with db.connection() as conn:
        return [(v.version, v.applied_via) for v in await versions_sql.recent(conn, 100)]


async def on_version(sync: ConfigSync, number: int) -> None:
    async def switched() -> bool:
        return sync.runtime.config_version == number

    await eventually(switched, 30, f"this replica on config version {number}")


async def logged(caplog: pytest.LogCaptureFixture, words: str) -> None:
    async def said() -> bool:
        return words in caplog.text

    await eventually(said, 30, f"the log to say {words!r}")


async def test_the_watch_stores_an_edited_file_and_refuses_a_bad_one(
    watched: tuple[ConfigSync, Path], db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    sync, path = watched
    caplog.set_level(logging.INFO, logger="web.config_sync")
    assert sync.runtime.config_version == 1 and await versions(db) == [(1, "serve")]
    path.write_text(edited(chat_strangers="act"))
    await on_version(sync, 2)
    assert sync.runtime.config.chat_strangers == "act"
    stored = await config_versions.current(db)
    assert stored is not None and stored.applied_via == "watch" and stored.applied_by.startswith("the file watch on ")
    path.write_text("users: [")
    await logged(caplog, "watch: the config file was not applied, nothing changed: ")
    assert await versions(db) == [(2, "watch"), (1, "serve")] and sync.runtime.config_version == 2
    path.write_text(edited(routes=[]))
    await on_version(sync, 3)
    assert sync.runtime.config.routes.routes == ()


async def test_a_file_the_database_could_not_store_is_stored_once_it_can(
    watched: tuple[ConfigSync, Path], db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    sync, path = watched
    caplog.set_level(logging.INFO, logger="web.config_sync")
    async with db.connection() as conn:
        await conn.execute("ALTER TABLE config_versions RENAME TO config_versions_away")
    try:
        path.write_text(edited(chat_strangers="act"))
        await logged(caplog, "watch: applying the config file failed; nothing changed")
    finally:
        async with db.connection() as conn:
            await conn.execute("ALTER TABLE config_versions_away RENAME TO config_versions")
    await on_version(sync, 2)  # the same file, looked at again by the watch
    assert await versions(db) == [(2, "watch"), (1, "serve")]
