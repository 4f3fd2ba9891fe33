"""Run the app under uvicorn (httptools) until SIGINT or SIGTERM, then shut down cleanly.

uvicorn with httptools spends about half the CPU per request that hypercorn's h11 did (measured by
tests/perf/bench_outage.py and in the issue's note), which is most of what a small webhook costs. Its
protocol is extended here with read deadlines, so a client that trickles its request cannot hold a
connection: the headers must arrive within HEADER_READ_TIMEOUT, the body within BODY_READ_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Coroutine, Iterator
from typing import Any

import uvicorn
from quart import Quart
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from web.settings import HttpSettings

log = logging.getLogger(__name__)
HEADER_READ_TIMEOUT = 10.0  # HTTP_HEADER_TIMEOUT's default: from a connection's (a request's) first byte to its headers
BODY_READ_TIMEOUT = 60.0  # HTTP_BODY_TIMEOUT's default: from the headers to the whole body (5 MB on a slow link)
GRACE_SECONDS = 10  # requests in flight at shutdown get this long to finish
# A webhook of 5,000 alerts allocates ~100,000 containers: at Python's default (700) the collector would run
# ~140 times and scan the young objects each time, and often the whole heap. Measured on a resent group:
# decoding, parsing and planning took 92-100 ms with the default, 61-66 with these or with no collector at all.
GC_THRESHOLDS = (50_000, 20, 50)


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines for reading a request's headers and its body."""

    _deadline: asyncio.TimerHandle | None = None
    header_timeout = HEADER_READ_TIMEOUT
    body_timeout = BODY_READ_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """A new connection: its first request's headers are due within HEADER_READ_TIMEOUT."""
        super().connection_made(transport)
        self._arm(self.header_timeout, "headers")

    def on_message_begin(self) -> None:
        """A request starts (the first on this connection, or a later keep-alive one)."""
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        """The headers are in: now the body is due."""
        super().on_headers_complete()
        self._arm(self.body_timeout, "body")

    def on_message_complete(self) -> None:
        """The whole request is in: no deadline until the next one begins."""
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline with the connection."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float, part: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow, part, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self, part: str, seconds: float) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.info("closed a connection from %s: its request %s took longer than %.0f s to arrive",
                     (self.client or ("?",))[0], part, seconds)
            self.transport.close()


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to serve_until_signalled."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Signals are handled by the caller, which stops every server together."""
        yield


def slow_client_protocol(http: HttpSettings | None) -> type[GuardedHttpTools]:
    """The guarded protocol with HTTP_HEADER_TIMEOUT and HTTP_BODY_TIMEOUT (every server timeout setting is here)."""
    if http is None:
        return GuardedHttpTools
    deadlines = {"header_timeout": http.header_timeout, "body_timeout": http.body_timeout}
    return type("GuardedHttpTools", (GuardedHttpTools,), deadlines)


def uvicorn_config(app: Any, host: str, port: int, http: HttpSettings | None = None) -> uvicorn.Config:
    """Listen address, TLS (main server only), keep-alive and shutdown grace, with the guarded protocol."""
    tls = http is not None and http.tls_cert_file and http.tls_key_file
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=slow_client_protocol(http),
        loop="none",  # the caller's loop (uvloop when installed)
        lifespan="on",
        backlog=1024,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=GRACE_SECONDS,
        access_log=False,
        log_config=None,  # keep Tocsin's own logging
        server_header=False,
        ssl_certfile=str(http.tls_cert_file) if tls and http else None,
        ssl_keyfile=str(http.tls_key_file) if tls and http else None,
    )


async def serve_until_signalled(app: Quart, http: HttpSettings) -> None:
    """Serve until SIGINT or SIGTERM; in-flight requests finish within the grace period."""
    import signal

    servers = [_Server(uvicorn_config(app, http.host, http.port, http))]
    metrics_app = app.extensions.get("tocsin_metrics_app")
    if metrics_app is not None and http.metrics_port is not None:
        servers.append(_Server(uvicorn_config(metrics_app, http.host, http.metrics_port)))

    def stopping() -> None:
        # Long-lived responses (the dashboard's event streams) end now, so the grace period is not spent on them.
        for hook in app.extensions.get("tocsin_on_stop", ()):
            hook()
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping)
    # A server that cannot start (its port taken, the app's startup failed) exits the process; uvicorn says why.
    await asyncio.gather(*(s.serve() for s in servers))


def settle_heap() -> None:
    """Move what start-up built (modules, the app) out of the collector's sight and make collections rarer."""
    gc.collect()
    gc.freeze()  # start-up objects live as long as the process: no collection needs to scan them
    gc.set_threshold(*GC_THRESHOLDS)


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the server coroutine on uvloop when it is installed (less CPU per request), else on asyncio's loop."""
    settle_heap()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)
