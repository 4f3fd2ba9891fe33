"""A stand-in of Discord's HTTP API (v10) on 127.0.0.1, and Discord's side of interactions (signing them).

It records every call, answers the calls Tocsin makes the way Discord does, and refuses what Discord
refuses: a wrong bot token (401), an unknown channel or message (404), a body over Discord's limits (400
"Invalid Form Body", code 50035: content over 2,000 characters, an embed over its limits or 6,000 in all,
more than 5 buttons a row, a label over 80, a custom_id over 100). It can answer 429 (per route or global,
with `retry_after`) or 500 for the next N calls or for a period.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from nacl.signing import SigningKey

from tests.support.loopback import serve

TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GTocsn.test-bot-token-for-the-discord-standin-0001"
APPLICATION_ID = "1100000000000000001"
CHANNEL = "1100000000000000100"
BOT_USER = "1100000000000000002"


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    status: int = 200


@dataclass
class Fault:
    """Answer `status` (429 or 5xx) to calls, `count` times or until `until`; `global_` for a global 429."""

    status: int
    retry_after: float = 1.0
    count: int | None = None
    until: float | None = None
    global_: bool = False


@dataclass
class DiscordApi:
    """The stand-in. `api_url` is the value for DISCORD_API_URL."""

    channels: set[str] = field(default_factory=lambda: {CHANNEL})
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    dms: dict[str, str] = field(default_factory=dict)  # user id -> DM channel id
    commands: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)  # {"token", "method", "body"}
    faults: list[Fault] = field(default_factory=list)
    key: SigningKey = field(default_factory=SigningKey.generate)
    port: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1100000000000001000))
    _runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        """DISCORD_API_URL for Tocsin."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def public_key(self) -> str:
        """DISCORD_PUBLIC_KEY for Tocsin (hex)."""
        return self.key.verify_key.encode().hex()

    async def start(self) -> DiscordApi:
        """Listen on a free loopback port."""
        app = web.Application(client_max_size=2**22)
        app.router.add_route("*", "/api/v10/{path:.*}", self._handle)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests use --------------------------------------------------------------------------

    def calls_to(self, method: str, prefix: str) -> list[Call]:
        """Calls of this HTTP method whose path starts with `prefix` (without /api/v10)."""
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    def fail_next(self, count: int, status: int = 429, retry_after: float = 1.0, global_: bool = False) -> None:
        """Answer the next `count` API calls with this status."""
        self.faults.append(Fault(status, retry_after, count=count, global_=global_))

    def fail_for(self, seconds: float, status: int = 500) -> None:
        """Answer every API call with this status for a period."""
        self.faults.append(Fault(status, until=time.monotonic() + seconds))

    def signed(self, interaction: dict[str, Any], stamp: int | None = None, key: SigningKey | None = None
               ) -> tuple[bytes, dict[str, str]]:
        """An interaction as Discord posts it: the JSON body and its Ed25519 signature headers."""
        return self.signed_bytes(json.dumps(interaction).encode(), stamp, key)

    def signed_bytes(self, body: bytes, stamp: int | None = None, key: SigningKey | None = None
                     ) -> tuple[bytes, dict[str, str]]:
        """Any body signed as Discord signs interactions."""
        timestamp = str(int(time.time()) if stamp is None else stamp)
        signature = (key or self.key).sign(timestamp.encode() + body).signature.hex()
        headers = {"Content-Type": "application/json", "X-Signature-Ed25519": signature,
                   "X-Signature-Timestamp": timestamp}
        return body, headers

    def message(self, ref: str) -> dict[str, Any]:
        """The message of a 'channel:message' reference as it stands."""
        channel, _, message = ref.partition(":")
        return self.messages[(channel, message)]

    # -- the HTTP side ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, 50109, "The request body contains invalid JSON.")
        call = Call(request.method, path, body, dict(request.headers))
        self.calls.append(call)
        response = self._answer(request.method, path, body, request.headers.get("Authorization", ""))
        call.status = response.status
        return response

    def _answer(self, method: str, path: str, body: Any, auth: str) -> web.Response:
        parts = path.strip("/").split("/")
        if parts[0] == "webhooks":  # interaction follow-ups: the interaction token authorizes them
            return self._webhook(method, parts, body)
        if auth != f"Bot {TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        fault = take_fault(self.faults)
        if fault is not None:
            return _fault(fault)
        if parts[:1] == ["channels"] and len(parts) >= 3 and parts[2] == "messages":
            return self._messages(method, parts, body)
        if path == "/users/@me/channels" and method == "POST":
            recipient = str((body or {}).get("recipient_id", ""))
            if not recipient.isdigit():
                return _error(400, 50035, "Invalid Form Body")
            channel = self.dms.setdefault(recipient, str(next(self._ids)))
            self.channels.add(channel)
            return web.json_response({"id": channel, "type": 1, "recipients": [{"id": recipient}]})
        if parts[:1] == ["applications"] and method == "PUT":
            if parts[1] != APPLICATION_ID:
                return _error(403, 50001, "Missing Access")
            self.commands = [{**c, "id": str(next(self._ids)), "application_id": APPLICATION_ID} for c in body]
            return web.json_response(self.commands)
        return _error(404, 0, "404: Not Found")

    def _messages(self, method: str, parts: list[str], body: Any) -> web.Response:
        channel = parts[1]
        if channel not in self.channels:
            return _error(404, 10003, "Unknown Channel")
        problem = invalid_message(body)
        if problem:
            return _error(400, 50035, "Invalid Form Body", {"detail": problem})
        if method == "POST" and len(parts) == 3:
            message_id = str(next(self._ids))
            self.messages[(channel, message_id)] = body
            return web.json_response({"id": message_id, "channel_id": channel, **body})
        if method == "PATCH" and len(parts) == 4:
            if (channel, parts[3]) not in self.messages:
                return _error(404, 10008, "Unknown Message")
            self.messages[(channel, parts[3])] = {**self.messages[(channel, parts[3])], **body}
            return web.json_response({"id": parts[3], "channel_id": channel, **body})
        return _error(405, 0, "405: Method Not Allowed")

    def _webhook(self, method: str, parts: list[str], body: Any) -> web.Response:
        if len(parts) < 3 or parts[1] != APPLICATION_ID:
            return _error(401, 50027, "Invalid Webhook Token")
        problem = invalid_message(body)
        if problem:
            return _error(400, 50035, "Invalid Form Body", {"detail": problem})
        self.followups.append({"token": parts[2], "method": method, "body": body})
        return web.json_response({"id": str(next(self._ids)), **(body or {})})



def invalid_message(body: Any) -> str | None:
    """Why Discord would refuse this message body (None: it would take it)."""
    if not isinstance(body, dict):
        return "expected a JSON object"
    if len(str(body.get("content") or "")) > 2000:
        return "content: Must be 2000 or fewer in length."
    embeds = body.get("embeds") or []
    total = 0
    for embed in embeds:
        if len(embed.get("title", "")) > 256 or len(embed.get("description", "")) > 4096:
            return "embeds: title or description too long"
        fields = embed.get("fields", [])
        if len(fields) > 25 or any(len(f["name"]) > 256 or len(f["value"]) > 1024 or not f["value"] for f in fields):
            return "embeds: a field is empty or too long, or there are more than 25"
        total += len(embed.get("title", "")) + len(embed.get("description", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    if total > 6000:
        return "embeds: Embed size exceeds maximum size of 6000"
    for row in body.get("components") or []:
        buttons = row.get("components", [])
        if row.get("type") != 1 or len(buttons) > 5:
            return "components: an action row holds at most 5 components"
        for button in buttons:
            if len(button.get("label", "")) > 80 or not 1 <= len(button.get("custom_id", "")) <= 100:
                return "components: a label over 80 or a custom_id not 1 to 100 characters"
    return None


def _error(status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> web.Response:
    return web.json_response({"code": code, "message": message, **({"errors": errors} if errors else {})},
                             status=status)


def take_fault(faults: list[Fault]) -> Fault | None:
    """The fault the next call meets: one still in its time window, else one with calls left (counted down)."""
    now = time.monotonic()
    for fault in faults:
        if fault.until is not None and now < fault.until:
            return fault
        if fault.count:
            fault.count -= 1
            return fault
    return None


def _fault(fault: Fault) -> web.Response:
    if fault.status == 429:
        headers = {"Retry-After": str(fault.retry_after), "X-RateLimit-Global": str(fault.global_).lower(),
                   "X-RateLimit-Scope": "global" if fault.global_ else "user"}
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": fault.global_}
        return web.json_response(body, status=429, headers=headers)
    return web.json_response({"message": "500: Internal Server Error", "code": 0}, status=fault.status)


def component_interaction(custom_id: str, user_id: str, name: str = "someone", guild: bool = True,
                          token: str = "interaction-token-1") -> dict[str, Any]:
    """A button click (type 3) as Discord posts it."""
    user = {"id": user_id, "username": name, "global_name": name.capitalize()}
    where: dict[str, Any] = {"guild_id": "1100000000000000900", "member": {"user": user, "nick": None}} if guild \
        else {"user": user}
    return {"id": "1100000000000000777", "application_id": APPLICATION_ID, "type": 3, "token": token, "version": 1,
            "channel_id": CHANNEL, "data": {"custom_id": custom_id, "component_type": 2}, **where}


def command_interaction(sub: str, options: dict[str, Any], user_id: str, name: str = "someone",
                        token: str = "interaction-token-2") -> dict[str, Any]:
    """`/incident SUB` (type 2) as Discord posts it, in a server channel."""
    user = {"id": user_id, "username": name, "global_name": name.capitalize()}
    option = {"type": 1, "name": sub, "options": [{"name": k, "value": v} for k, v in options.items()]}
    return {"id": "1100000000000000778", "application_id": APPLICATION_ID, "type": 2, "token": token, "version": 1,
            "channel_id": CHANNEL, "guild_id": "1100000000000000900", "member": {"user": user, "nick": None},
            "data": {"name": "incident", "type": 1, "options": [option]}}
