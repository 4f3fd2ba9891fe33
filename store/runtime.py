"""What the transports share at run time: the database, the routes and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import asyncpg

from store.db import Database
from store.domain.config_schema import Config
from store.domain.routing import RouteTable
from store.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from store.intake import Intake

# Errors that mean "PostgreSQL is not there right now" rather than "this request is wrong".
UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)
# A statement that ran past its connection's statement_timeout or lock_timeout: rolled back, try again later.
TIMED_OUT = (asyncpg.QueryCanceledError, asyncpg.LockNotAvailableError)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Runtime:
    """The composition root builds one of these and hands it to every transport."""

    db: Database
    config: Config = field(default_factory=Config)
    clock: Callable[[], datetime] = utc_now
    intake: Intake | None = None  # the webhooks' shared transactions, when serving
    background: Database | None = None  # connections of the scheduler's jobs, which requests cannot take

    @property
    def jobs_db(self) -> Database:
        """The pool scheduler jobs use: the background pool when serving, else the one pool."""
        return self.background or self.db

    @property
    def routes(self) -> RouteTable:
        """The route table of the config (with the default route from the settings)."""
        return self.config.routes


def unavailable_error(exc: BaseException) -> DatabaseUnavailable:
    """The 503 a transport answers when the database is unreachable."""
    return DatabaseUnavailable(f"the database is unavailable ({type(exc).__name__}); retry later")
