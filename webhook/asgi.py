"""The webhooks' hot path as plain ASGI, in front of the Quart app.

For every request Quart builds a request object, pushes its contexts, runs hooks and signals and builds a
response object. For a small webhook that was half of Tocsin's CPU (tests/perf/bench_outage.py, single-alert
webhooks: 1.56 ms per webhook through Quart, 0.82 ms here), and in an outage webhooks are nearly every
request, so the event loop that also answers people's clicks was full of it. POSTs to the senders' routes
are answered here: the same checks in the same order and the same answers as the routes' views give (both
call webhook.routes.accept), with the headers and metrics the composition root hands in. Everything else
goes to the app.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestTimeout

from store.errors import ApiError, StoreError, http_error, internal_error
from webhook.routes import Sender, accept, answer, check_declared, too_large
from webhook.settings import WebhookSettings

log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
# After a webhook is answered: its route, status, seconds taken and alerts stored (the app's request metrics).
Observe = Callable[[str, int, float, int], None]
# The headers every answer carries (no caching, CORS): from the request's path, method and headers.
AnswerHeaders = Callable[[str, str, Headers], Mapping[str, str]]


class ClientGone(Exception):
    """The client went away before its whole body arrived: nothing to store and nobody to answer."""


class AsgiRequest:
    """What the checks read of an ASGI request: the peer address and the headers (as Quart's request has them)."""

    __slots__ = ("body_read", "headers", "remote_addr")

    def __init__(self, scope: Scope) -> None:
        client = scope.get("client")
        self.remote_addr: str | None = client[0] if client else None
        self.headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())])
        self.body_read = False  # whether receive() was called: a client told "100 Continue" then sends its body

    @property
    def mimetype(self) -> str:
        """The Content-Type without its parameters, lower case."""
        return self.headers.get("Content-Type", "").partition(";")[0].strip().lower()

    @property
    def content_length(self) -> int | None:
        """The declared body length, None when absent or not a number."""
        try:
            return int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None


async def read_body(settings: WebhookSettings, request: AsgiRequest, receive: Receive, within: float) -> bytes:
    """The whole body: 415 when it is not JSON, 413 past WEBHOOK_MAX_BYTES (declared or as it streams in), 408
    when it takes longer than HTTP_BODY_TIMEOUT (as Quart's BODY_TIMEOUT answers, under any ASGI server)."""
    check_declared(settings, request.mimetype, request.content_length)
    request.body_read = True
    try:
        async with asyncio.timeout(within):
            return await _receive_all(settings, receive)
    except TimeoutError:
        raise ApiError(408, "request_timeout", RequestTimeout.description or "") from None


async def _receive_all(settings: WebhookSettings, receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > settings.max_bytes:
            raise too_large(settings)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class WebhookFastPath:
    """ASGI middleware: POSTs to the senders' routes are answered here, anything else by `app`."""

    def __init__(
        self, app: App, extensions: Mapping[str, Any], settings: WebhookSettings, senders: Iterable[Sender],
        answer_headers: AnswerHeaders, observe: Observe | None = None, body_timeout: float = 60.0,
    ) -> None:
        self.app, self.extensions, self.settings, self.body_timeout = app, extensions, settings, body_timeout
        self.senders = {sender.path: sender for sender in senders}
        self.answer_headers, self.observe = answer_headers, observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        sender = self.senders.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if sender is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = AsgiRequest(scope)
        try:
            status, body, headers, stored = await self._answer(sender, request, receive)
        except ClientGone:
            return
        # Byte for byte as Quart's JSON answers (sorted keys, compact, ASCII only, a newline).
        payload = (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()
        fields = {**self.answer_headers(sender.path, "POST", request.headers), **headers}
        if not request.body_read and "Expect" in request.headers:
            # Refused before its body was asked for: no "100 Continue" went out, so the body may never come.
            fields["Connection"] = "close"
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in fields.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})
        if self.observe is not None:
            self.observe(sender.path, status, time.perf_counter() - started, stored)

    async def _answer(
        self, sender: Sender, request: AsgiRequest, receive: Receive
    ) -> tuple[int, dict[str, Any], Mapping[str, str], int]:
        """Status, body, extra headers and alerts stored; refusals answered as the app's error handlers do."""
        try:
            result = await accept(self.extensions, request, self.settings, sender,
                                  lambda: read_body(self.settings, request, receive, self.body_timeout))
        except ApiError as error:
            return error.status, error.body(), error.headers, 0
        except StoreError as error:
            refusal = http_error(error)
            return refusal.status, refusal.body(), refusal.headers, 0
        except ClientGone:
            raise
        except Exception:
            log.exception("unhandled error")
            return 500, internal_error().body(), {}, 0
        return 200, answer(result), {}, result.alerts_stored
