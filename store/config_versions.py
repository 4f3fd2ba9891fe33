"""The config version service: a checked config file stored as a new version (the newest wins everywhere).

`tocsin config apply`, SIGHUP and the file watch call `apply_text`; `tocsin serve` calls `apply_at_start`,
which stores the file only when its content was never applied (an edited file), so a replica restarting with
an old file does not undo a newer `config apply`. Every replica switches on the NOTIFY (store/live_config.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from store.config import ConfigFileError, parse_config_text
from store.db import Database
from store.domain.routing import Route
from store.sql import audit as audit_sql
from store.sql import config_versions as versions_sql
from store.sql import events as events_sql
from store.sql.config_versions import ConfigVersion

CONFIG_KIND = "config"
MAX_BODY = 1_048_576


@dataclass(frozen=True, slots=True)
class Applied:
    """The version in force after an apply; `created` is False when the file was that version already."""

    version: ConfigVersion
    created: bool


def sha256(text: str) -> str:
    """The hex SHA-256 of a config file's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def apply_text(
    db: Database, text: str, source: str, actor: str, via: str, default_route: Route | None = None
) -> Applied:
    """Check the text (ConfigFileError lists every problem; nothing is stored) and store it as the newest version."""
    check(text, source, default_route)
    digest = sha256(text)
    async with db.transaction() as conn:
        await versions_sql.lock(conn)
        latest = await versions_sql.latest(conn)
        if latest is not None and latest.sha256 == digest:
            return Applied(latest, False)
        return Applied(await _store(conn, text, digest, source, actor, via), True)


async def apply_at_start(
    db: Database, text: str, source: str, actor: str, default_route: Route | None = None
) -> Applied | None:
    """Store the file `tocsin serve` was given when its content was never applied; None when it was."""
    check(text, source, default_route)
    digest = sha256(text)
    async with db.transaction() as conn:
        await versions_sql.lock(conn)
        if await versions_sql.with_sha256(conn, digest) is not None:
            return None
        return Applied(await _store(conn, text, digest, source, actor, "serve"), True)


def check(text: str, source: str, default_route: Route | None) -> None:
    """ConfigFileError unless the text is a good config file of acceptable size."""
    if len(text.encode("utf-8")) > MAX_BODY:
        raise ConfigFileError([f"{source}: larger than {MAX_BODY} bytes; expected a smaller config file"])
    parse_config_text(text, source, default_route)


async def _store(conn: asyncpg.Connection, text: str, digest: str, source: str, actor: str, via: str) -> ConfigVersion:
    now = datetime.now(UTC)
    version = await versions_sql.insert(conn, text, digest, source, actor, via, now)
    data = {"version": version.version, "sha256": digest, "source": source}
    await audit_sql.insert(conn, actor, via, "config.apply", f"config:{version.version}", data, now)
    await events_sql.notify(conn, [], [CONFIG_KIND])
    return version


async def current(db: Database) -> ConfigVersion | None:
    """The newest stored version, or None before the first."""
    async with db.connection() as conn:
        return await versions_sql.latest(conn)


async def history(db: Database, limit: int = 20) -> list[ConfigVersion]:
    """The newest versions, newest first."""
    async with db.connection() as conn:
        return await versions_sql.recent(conn, limit)
