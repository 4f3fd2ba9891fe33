"""A receiver of Tocsin's outgoing webhooks on 127.0.0.1 that checks each signature as docs/integrations.md tells
receivers to (its own code, not Tocsin's): X-Tocsin-Signature `t=UNIX,v1=HEX`, HEX = HMAC-SHA256(secret,
"UNIX.BODY"), UNIX within five minutes. A request with a wrong or missing signature is answered 401 and kept apart.
It can answer 429 (Retry-After) or 500 for the next N requests, or be down (connections refused).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.loopback import serve

TOLERANCE = 300


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """True when the header signs this body with this secret, recently: what a receiver does."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs((now if now is not None else time.time()) - stamp) <= TOLERANCE
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class Received:
    """One request: its headers, raw body and (when JSON) decoded body, and the status answered."""

    headers: dict[str, str]
    raw: bytes
    status: int

    @property
    def json(self) -> Any:
        """The body decoded."""
        return json.loads(self.raw)


@dataclass
class WebhookReceiver:
    """The receiver; `url` goes in a webhook's config. `secret` None: it checks no signature."""

    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)  # bad signatures
    faults: list[tuple[int, float]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Where Tocsin posts."""
        return f"http://127.0.0.1:{self.port}/hooks/tocsin"

    async def start(self, port: int = 0) -> WebhookReceiver:
        """Listen on a free loopback port (or `port`, to come back where it was)."""
        app = web.Application()
        app.router.add_post("/hooks/tocsin", self._handle)
        if port:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self._runner, self.port = runner, port
        else:
            self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening: Tocsin's requests are refused until start(self.port)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def fail_next(self, count: int, status: int, retry_after: float | None = None) -> None:
        """Answer the next `count` requests with this status (with Retry-After when given)."""
        self.faults += [(status, retry_after if retry_after is not None else -1)] * count

    def events(self) -> list[str]:
        """The event kinds accepted (2xx), in order."""
        return [r.headers["X-Tocsin-Event"] for r in self.received if r.status < 300]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = dict(request.headers)
        if self.secret is not None and not verify(self.secret, headers.get("X-Tocsin-Signature", ""), raw):
            self.refused.append(Received(headers, raw, 401))
            return web.Response(status=401, text="bad signature")
        if self.faults:
            status, wait = self.faults.pop(0)
            self.received.append(Received(headers, raw, status))
            return web.Response(status=status, headers={"Retry-After": str(wait)} if wait >= 0 else {})
        self.received.append(Received(headers, raw, 200))
        return web.json_response({"ok": True})
