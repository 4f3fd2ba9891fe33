"""What the loopback stand-ins of the paging providers (ntfy, Pushover, Twilio) share: recorded calls, faults
(429 or 5xx for the next N calls or for a while), serving, and calling Tocsin back over real HTTP."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.discord_api import Call, Fault, take_fault
from tests.support.loopback import serve

__all__ = ["Call", "Fault", "StandIn", "post_form"]


@dataclass
class StandIn:
    """A provider's stand-in: subclasses route requests in `handle`."""

    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The stand-in's base URL (the provider's *_URL setting)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> StandIn:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, count: int, status: int = 429, retry_after: float = 1.0) -> None:
        """Answer the next `count` calls with this status (a 429 with Retry-After)."""
        self.faults.append(Fault(status, retry_after, count=count))

    def fail_for(self, seconds: float, status: int = 500) -> None:
        """Answer every call with this status for a while."""
        self.faults.append(Fault(status, until=time.monotonic() + seconds))

    def recovered(self) -> None:
        """Stop answering with faults."""
        self.faults.clear()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body: Any = dict(await request.post()) if request.content_type.endswith("form-urlencoded") else raw
        call = Call(request.method, request.path, body, dict(request.headers))
        self.calls.append(call)
        fault = take_fault(self.faults)
        response = _fault(fault) if fault else await self.handle(request, call, raw)
        call.status = response.status
        return response

    async def handle(self, request: web.Request, call: Call, raw: bytes) -> web.Response:
        """The provider's answer to a call that is not a fault."""
        raise NotImplementedError


def _fault(fault: Fault) -> web.Response:
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.status == 429 else {}
    message = "Too Many Requests" if fault.status == 429 else "Internal Server Error"
    return web.json_response({"code": fault.status, "message": message, "status": 0, "errors": [message]},
                             status=fault.status, headers=headers)


async def post_form(url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST a form to Tocsin over real HTTP, as a provider calls its webhooks; (status, body)."""
    async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session,
                session.post(url, data=form, headers=headers or {}) as response):
        return response.status, await response.text()
