"""Run the app under hypercorn until SIGINT or SIGTERM, then shut down cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from web.settings import HttpSettings


def hypercorn_config(http: HttpSettings) -> Config:
    """Listen address, TLS and shutdown grace from the settings."""
    config = Config()
    host = f"[{http.host}]" if ":" in http.host else http.host
    config.bind = [f"{host}:{http.port}"]
    config.graceful_timeout = 10
    config.keep_alive_timeout = 75
    config.backlog = 1024
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    if http.tls_cert_file and http.tls_key_file:
        config.certfile = str(http.tls_cert_file)
        config.keyfile = str(http.tls_key_file)
    return config


async def serve_until_signalled(app: Quart, http: HttpSettings) -> None:
    """Serve until SIGINT or SIGTERM; in-flight requests finish within the grace period."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(app, hypercorn_config(http), shutdown_trigger=stop.wait)  # type: ignore[arg-type]


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the server coroutine on uvloop when it is installed (less CPU per request), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)
