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
    slow_client_timeouts(config, http)
    config.backlog = 1024
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    if http.tls_cert_file and http.tls_key_file:
        config.certfile = str(http.tls_cert_file)
        config.keyfile = str(http.tls_key_file)
    return config


def slow_client_timeouts(config: Config, http: HttpSettings) -> None:
    """Hypercorn's share of the slow-client limits (all of this server's timeout settings are here).

    The request head: hypercorn's idle timer runs from the connection (or the last answer) until the head
    is complete, so HTTP_HEADER_TIMEOUT bounds both a head sent byte by byte and an idle keep-alive
    connection. The body: Quart's BODY_TIMEOUT (web/http_policy.py) bounds it whatever the server; no
    per-read timeout here, as it would also end the dashboard's event streams, where the client sends nothing.
    """
    config.keep_alive_timeout = http.header_timeout
    config.h11_max_incomplete_size = 16 * 1024  # a head larger than this is refused with 400
    config.read_timeout = None


def metrics_config(http: HttpSettings) -> Config:
    """The plain-HTTP listener of METRICS_PORT (same host as the main server)."""
    config = Config()
    host = f"[{http.host}]" if ":" in http.host else http.host
    config.bind = [f"{host}:{http.metrics_port}"]
    config.graceful_timeout = 2
    slow_client_timeouts(config, http)
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
