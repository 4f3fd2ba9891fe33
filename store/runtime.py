"""What the transports share at run time: the database, the routes and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from store.db import Database
from store.domain.config_schema import Config
from store.domain.routing import RouteTable
from store.errors import TIMED_OUT, UNAVAILABLE, DatabaseUnavailable, Unavailable

if TYPE_CHECKING:
    from store.intake import Intake
    from store.silence import Silencer

__all__ = ["TIMED_OUT", "UNAVAILABLE", "Runtime", "unavailable_error", "utc_now"]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Runtime:
    """The composition root builds one of these and hands it to every transport."""

    db: Database
    config: Config = field(default_factory=Config)  # swapped whole by store/live_config.py, never edited
    clock: Callable[[], datetime] = utc_now
    config_version: int | None = None  # the stored version in force (None: the file given at start, or none)
    config_problem: str | None = None  # why the newest stored version cannot be applied on this replica
    intake: Intake | None = None  # the webhooks' shared transactions, when serving
    background: Database | None = None  # connections of the scheduler's jobs, which requests cannot take
    silencer: Silencer | None = None  # Alertmanager's silences (ALERTMANAGER_URL), for maintenance windows

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
    if isinstance(exc, Unavailable):
        return DatabaseUnavailable(exc.message)
    return DatabaseUnavailable(Unavailable.database(exc).message)
