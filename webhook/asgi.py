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

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

import orjson
from werkzeug.datastructures import Headers

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

    __slots__ = ("headers", "remote_addr")

    def __init__(self, scope: Scope) -> None:
        client = scope.get("client")
        self.remote_addr: str | None = client[0] if client else None
        self.headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())])

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


async def read_body(settings: WebhookSettings, request: AsgiRequest, receive: Receive) -> bytes:
    """The whole body: 415 when it is not JSON, 413 past WEBHOOK_MAX_BYTES (declared or as it streams in)."""
    check_declared(settings, request.mimetype, request.content_length)
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
        answer_headers: AnswerHeaders, observe: Observe | None = None,
    ) -> None:
        self.app, self.extensions, self.settings = app, extensions, settings
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
        payload = orjson.dumps(body, option=orjson.OPT_SORT_KEYS) + b"\n"  # as Quart's JSON answers are
        fields = {**self.answer_headers(sender.path, "POST", request.headers), **headers}
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
                                  lambda: read_body(self.settings, request, receive))
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
