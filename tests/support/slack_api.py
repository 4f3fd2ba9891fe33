"""A stand-in of Slack's Web API on 127.0.0.1, for the real slack_sdk client (base_url = SlackApi.api_url).

It records every call (method, arguments from the query, form or JSON body, headers), answers the methods
Tocsin uses the way Slack does (HTTP 200 with {"ok": false, "error": ...} for refusals), keeps posted
messages so that chat.update of an unknown ts fails as on Slack, and can be told to answer 429 with
Retry-After or 500 for the next N calls or for a period. Response URLs (slash commands, buttons) are
served too, under /response/NAME.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.support.loopback import serve

BOT_USER = "UTOCSINBOT"
TEAM = "T0TOCSIN"


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic)

    @property
    def token(self) -> str | None:
        """The bearer token sent, if any."""
        auth = self.headers.get("Authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else self.args.get("token")


@dataclass
class Fault:
    """Answer `status` (429 with Retry-After, or 500) to matching calls, `count` times or until `until`."""

    status: int
    retry_after: int | None = None
    count: int | None = None
    until: float | None = None
    method: str | None = None

    def live(self, now: float) -> bool:
        """Still to be applied (calls left, or the period not over)."""
        return now < self.until if self.until is not None else (self.count or 0) > 0

    def applies(self, method: str, now: float) -> bool:
        """Applies to a call of `method` now."""
        return self.method in (None, method) and self.live(now)


@dataclass
class SlackApi:
    """The stand-in server; `await start()`, use `api_url`, `await stop()`."""

    token: str = "xoxb-test-token"
    app_token: str = "xapp-test-token"
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    response_times: dict[str, float] = field(default_factory=dict)  # response_url name -> when (time.monotonic)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ts = itertools.count(100)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.changed = asyncio.Event()
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: list[dict[str, Any]] = []
        self._gate: asyncio.Event | None = None
        self._gate_method: str | None = None
        self.held = 0

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL is set to (slack_sdk joins method names to it)."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "r1") -> str:
        """A response_url to put in a signed payload; what is posted there lands in `responses`."""
        return f"{self.url}/response/{name}"

    async def start(self) -> SlackApi:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, count: int, status: int = 429, retry_after: int | None = 7, method: str | None = None) -> None:
        """Answer the next `count` calls (of `method`, if given) with `status`."""
        self.faults.append(Fault(status, retry_after if status == 429 else None, count=count, method=method))

    def fail_for(
        self, seconds: float, status: int = 429, retry_after: int | None = 7, method: str | None = None
    ) -> None:
        """Answer every call (of `method`, if given) with `status` for the next `seconds`."""
        until = time.monotonic() + seconds
        self.faults.append(Fault(status, retry_after if status == 429 else None, until=until, method=method))

    def hold(self, method: str | None = None) -> None:
        """Leave calls (of `method`, if given) unanswered until release(); then they get a 500, never a success."""
        self._gate, self._gate_method = asyncio.Event(), method

    def release(self) -> None:
        """Answer the held calls (with 500) and stop holding. Call it on the stand-in's loop."""
        if self._gate is not None:
            self._gate.set()
        self._gate = None

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one API method, oldest first."""
        return [c for c in self.calls if c.method == method and c.status == 200]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies posted in a message's thread."""
        return [m for (ch, _), m in self.messages.items() if ch == channel and m.get("thread_ts") == ts]

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        body = await request.read()
        if request.content_type == "application/json" and body:
            args.update(json.loads(body))
        elif request.content_type == "application/x-www-form-urlencoded":
            args.update(parse_qsl(body.decode()))
        elif request.content_type.startswith("multipart/"):
            args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key in ("blocks", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    def _fault(self, method: str) -> web.Response | None:
        now = time.monotonic()
        self.faults = [f for f in self.faults if f.live(now)]
        for fault in self.faults:
            if not fault.applies(method, now):
                continue
            if fault.count is not None:
                fault.count -= 1
            if fault.status == 429:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            return web.Response(
                status=fault.status, text="<html>Internal Server Error</html>", content_type="text/html"
            )
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, await self._args(request), dict(request.headers))
        self.calls.append(call)
        self.changed.set()
        gate = self._gate
        if gate is not None and self._gate_method in (None, method):
            call.status = 500
            self.held += 1
            await gate.wait()
            return web.Response(status=500, text="held, then failed")
        fault = self._fault(method)
        if fault is not None:
            call.status = fault.status
            return fault
        if call.token != (self.app_token if method == "apps.connections.open" else self.token):
            return web.json_response({"ok": False, "error": "invalid_auth" if call.token else "not_authed"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(call.args))

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope over the latest connection."""
        await self.sockets[-1].send_json(envelope)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0TOCSIN"}})
        self.changed.set()
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
                self.changed.set()
        self.sockets.remove(ws)
        return ws

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    async def _response(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        self.responses.append({"name": request.match_info["name"], **body})
        self.response_times[request.match_info["name"]] = time.monotonic()
        self.changed.set()
        return web.Response(text="ok")

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://tocsin-test.slack.com/",
            "team": "Tocsin Test",
            "team_id": TEAM,
            "user": "tocsin",
            "user_id": BOT_USER,
            "bot_id": "B0TOCSIN",
        }

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if args.get("thread_ts") and (channel, args["thread_ts"]) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        ts = self._next_ts()
        message = {
            "ts": ts,
            "channel": channel,
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
            "thread_ts": args.get("thread_ts"),
        }
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (args.get("channel"), args.get("ts"))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key].update(text=args.get("text", ""), blocks=args.get("blocks", []))  # type: ignore[index]
        return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text", "")}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found" if not args.get("channel") else "user_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("UW")}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        member = self.members.get(str(args.get("user")))
        if member is None:
            return {"ok": False, "error": "user_not_found"}
        profile = {"display_name": member.get("display_name", ""), "real_name": member.get("real_name", "")}
        return {
            "ok": True,
            "user": {
                "id": args["user"],
                "name": member.get("name", ""),
                "profile": profile,
                "real_name": member.get("real_name", ""),
            },
        }


async def wait_until(predicate: Callable[[], bool], changed: asyncio.Event, within: float = 10.0) -> bool:
    """Wait (at most `within` seconds) until predicate() holds, re-checking whenever `changed` is set."""

    async def loop() -> None:
        while True:
            changed.clear()
            if predicate():
                return
            await changed.wait()

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(loop(), within)
    return predicate()


def slack_signature(secret: str, timestamp: int, body: bytes) -> str:
    """X-Slack-Signature exactly as Slack computes it: v0= HMAC-SHA256 of 'v0:timestamp:body'."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a form-encoded request, signed with the signing secret."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": slack_signature(secret, ts, body),
    }
