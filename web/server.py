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


def metrics_config(http: HttpSettings) -> Config:
    """The plain-HTTP listener of METRICS_PORT (same host as the main server)."""
    config = Config()
    host = f"[{http.host}]" if ":" in http.host else http.host
    config.bind = [f"{host}:{http.metrics_port}"]
    config.graceful_timeout = 2
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    return config


async def serve_until_signalled(app: Quart, http: HttpSettings) -> None:
    """Serve until SIGINT or SIGTERM; in-flight requests finish within the grace period."""
    stop = asyncio.Event()

    def stopping() -> None:
        stop.set()
        # Long-lived responses (the dashboard's event streams) end now, so the grace period is not spent on them.
        for hook in app.extensions.get("tocsin_on_stop", ()):
            hook()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping)
    servers = [serve(app, hypercorn_config(http), shutdown_trigger=stop.wait)]  # type: ignore[arg-type]
    metrics_app = app.extensions.get("tocsin_metrics_app")
    if metrics_app is not None and http.metrics_port is not None:
        servers.append(serve(metrics_app, metrics_config(http), shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    await asyncio.gather(*servers)


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the server coroutine on uvloop when it is installed (less CPU per request), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)
