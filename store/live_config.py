"""Keep this replica's runtime config equal to the newest stored config version plus the stored overrides.

A NOTIFY (kinds `config` or `overrides`) wakes the refresh at once; a periodic check catches anything a
lost connection missed. A new version is parsed whole on this replica before anything changes: if it cannot
be applied here (a time zone this machine lacks, say), the config in force stays, the problem is logged and
shown on /readyz with the version and the reason, and nothing is half-applied. The swap is one assignment
of `runtime.config`, so every reader sees the old config or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from store.config import ConfigFileError, parse_config_text
from store.config_versions import CONFIG_KIND
from store.domain.config_schema import Config
from store.domain.overrides import KEEP_ENDED, ScheduleOverride, with_overrides
from store.domain.routing import Route
from store.errors import UNAVAILABLE
from store.escalation import replan
from store.events import EventListener, cancel
from store.overrides import OVERRIDES_KIND, live_overrides
from store.runtime import Runtime
from store.sql import config_versions as versions_sql
from store.sql import overrides as overrides_sql
from store.sql.config_versions import ConfigVersion

log = logging.getLogger(__name__)
CHECK_EVERY = 5.0
LOOK_BACK = 20  # a replica that cannot apply the newest version takes the newest of these it can
WATCHED = {CONFIG_KIND, OVERRIDES_KIND}


class LiveConfig:
    """Refreshes `runtime.config` from the database; `base` is the config in force until a version is stored."""

    def __init__(self, runtime: Runtime, base: Config, default_route: Route | None, interval: float = CHECK_EVERY):
        self.runtime = runtime
        self.base = base
        self.default_route = default_route
        self.interval = interval
        self.version: int | None = None
        self.generation: tuple[int, int] | None = None
        self.overrides: list[ScheduleOverride] = []
        self._refused: int | None = None  # the newest version, when it cannot be applied here
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: EventListener | None = None

    async def refresh(self) -> bool:
        """Look for a newer version or changed overrides and swap them in; True when the config changed."""
        async with self.runtime.db.connection() as conn:
            number = await versions_sql.latest_number(conn)
            generation = await overrides_sql.generation(conn)
            newer = []
            if number is not None and number not in (self.version, self._refused):
                newer = [v for v in await versions_sql.recent(conn, LOOK_BACK) if v.version > (self.version or 0)]
        old, changed = self.base, self._take_newest(newer)
        if changed and old is not self.base and self.version is not None:
            await replan(self.runtime.db, old, self.base, self.runtime.clock())
        if generation != self.generation:
            self.overrides = await live_overrides(self.runtime.db, self.runtime.clock() - KEEP_ENDED)
            self.generation = generation
            changed = True
        if changed:
            self.runtime.config = with_overrides(self.base, self.overrides)
            self.runtime.config_version = self.version
        return changed

    def _take_newest(self, newer: list[ConfigVersion]) -> bool:
        """Take the newest of these versions (newest first) that parses here; the newest's problem is reported."""
        for stored in newer:
            source = f"config version {stored.version}"
            try:
                parsed = parse_config_text(stored.body, source, self.default_route)
            except ConfigFileError as exc:
                if stored is newer[0]:
                    self._report(stored.version, "; ".join(exc.lines))
                continue
            if self.version is not None:
                log.info("config version %d in force (was %d)", stored.version, self.version)
            self.base, self.version = parsed, stored.version
            if stored is newer[0]:
                self.runtime.config_problem, self._refused = None, None
            return True
        return False

    def _report(self, number: int, reason: str) -> None:
        kept = self.version if self.version is not None else "none"
        log.error("config version %d cannot be applied on this replica; keeping the newest it can apply "
                  "(before this check: %s): %s", number, kept, reason)
        self.runtime.config_problem = f"config version {number} cannot be applied on this replica: {reason}"
        self._refused = number

    def start(self) -> None:
        """Listen for NOTIFY and check periodically, in the background."""
        self._listener = EventListener(self.runtime.db.dsn, self._on_event, self._wake.set)
        self._listener.start()
        self._task = asyncio.create_task(self._run(), name="tocsin-live-config")

    async def stop(self) -> None:
        """Stop listening and checking."""
        await cancel(self._task)
        self._task = None
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    def _on_event(self, payload: str) -> None:
        try:
            kinds = set(json.loads(payload).get("kinds", ()))
        except (ValueError, AttributeError, TypeError):
            return
        if kinds & WATCHED:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: wait_for can swallow a cancel (3.11)
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.refresh()
            except UNAVAILABLE as exc:
                log.warning("config check skipped: the database is unavailable (%s)", type(exc).__name__)
            except Exception:
                log.exception("config check failed")
