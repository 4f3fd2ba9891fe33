"""Config changes without restarts, wired for `tocsin serve`: the file stored at start when edited, SIGHUP,
the optional file watch (TOCSIN_CONFIG_WATCH), and this replica following the newest stored version."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from pathlib import Path

from store import config_versions
from store.config import ConfigFileError, read_config_text
from store.domain.config_schema import Config
from store.events import cancel
from store.live_config import LiveConfig
from store.runtime import Runtime
from web.config_loader import default_route
from web.settings import Settings

log = logging.getLogger(__name__)
WATCH_EVERY = 5.0
WHO = {"serve": "tocsin serve", "sighup": "SIGHUP", "watch": "the file watch"}


class ConfigSync:
    """The file's side of live config on one replica: apply on start, SIGHUP and watch; follow the database."""

    def __init__(self, settings: Settings, runtime: Runtime, base: Config, watch_every: float = WATCH_EVERY) -> None:
        self.settings = settings
        self.runtime = runtime
        self.route = default_route(settings)
        self.live = LiveConfig(runtime, base, self.route)
        self.watch_every = watch_every
        self._tasks: set[asyncio.Task[object]] = set()
        self._watch: asyncio.Task[None] | None = None
        self._seen: str | None = None
        self._signal = False

    async def start(self) -> None:
        """Store the file if it was edited, load the newest version, then follow NOTIFY, SIGHUP and the watch."""
        path = self.settings.config_path
        if path is not None:
            await self._apply(path, "serve")
        await self.live.refresh()
        self.live.start()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            loop.add_signal_handler(signal.SIGHUP, self.reload)
            self._signal = True
        if self.settings.config_watch and path is not None:
            self._watch = asyncio.create_task(self._watch_file(path), name="tocsin-config-watch")

    def reload(self) -> None:
        """SIGHUP: read the file again and apply it (a bad file changes nothing and is logged)."""
        path = self.settings.config_path
        if path is None:
            log.warning("SIGHUP: no config file (TOCSIN_CONFIG) to read; nothing changed")
            return
        task = asyncio.ensure_future(self._apply(path, "sighup"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _apply(self, path: Path, via: str) -> None:
        who = f"{WHO[via]} on {socket.gethostname()}"
        try:
            text = read_config_text(path)
        except ConfigFileError as exc:
            _refused(via, exc)
            return
        digest = config_versions.sha256(text)
        try:
            if via == "serve":
                applied = await config_versions.apply_at_start(self.runtime.db, text, str(path), who, self.route)
            else:
                applied = await config_versions.apply_text(self.runtime.db, text, str(path), who, via, self.route)
        except ConfigFileError as exc:
            _refused(via, exc)
            self._seen = digest  # the watch looks at a refused file again only once it is edited
            return
        except Exception:
            # Not marked as seen: the watch tries this file again once the database works.
            log.exception("%s: applying the config file failed; nothing changed", via)
            return
        self._seen = digest
        if applied is not None and applied.created:
            log.info("%s: %s stored as config version %d", via, path, applied.version.version)
            await self._follow(via)
        elif via != "serve":
            log.info("%s: %s is unchanged (config version %s)", via, path, applied.version.version if applied else "-")

    async def _follow(self, via: str) -> None:
        """Take the version just stored now; if that fails, NOTIFY and the periodic check take it later."""
        try:
            await self.live.refresh()
        except Exception:
            log.exception("%s: the stored version is not in force here yet; the next config check takes it", via)

    async def _watch_file(self, path: Path) -> None:
        while True:
            await asyncio.sleep(self.watch_every)
            try:
                digest = config_versions.sha256(read_config_text(path))
            except ConfigFileError:
                continue  # being replaced (an editor's rename, a ConfigMap's symlink swap): look again later
            if digest != self._seen:
                await self._apply(path, "watch")

    async def stop(self) -> None:
        """Stop following and watching."""
        if self._signal:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        for task in [*self._tasks, self._watch]:
            await cancel(task)
        await self.live.stop()


def _refused(via: str, exc: ConfigFileError) -> None:
    log.error("%s: the config file was not applied, nothing changed: %s", via, "; ".join(exc.lines))
