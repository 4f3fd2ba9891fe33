"""A stand-in of an ntfy server's publish API on loopback: it records messages, checks the access token,
answers 429 or 5xx when told, and presses a message's action buttons as the ntfy app does (an HTTP POST to
the action's URL)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.provider_api import Call, StandIn, post_form

TOKEN = "tk_paging0tests0ntfy0token00001"


@dataclass
class NtfyApi(StandIn):
    """The stand-in; `url` is NTFY_URL."""

    token: str | None = TOKEN
    messages: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def handle(self, request: web.Request, call: Call, raw: bytes) -> web.Response:
        """POST / with a JSON message, as ntfy publishes."""
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"code": 40101, "http": 401, "error": "unauthorized"}, status=401)
        if request.method != "POST" or request.path != "/":
            return web.json_response({"code": 40401, "http": 404, "error": "page not found"}, status=404)
        try:
            message = json.loads(raw)
        except ValueError:
            return web.json_response({"code": 40024, "http": 400, "error": "invalid request: JSON"}, status=400)
        if not isinstance(message, dict) or not message.get("topic") or len(message.get("actions", [])) > 3:
            return web.json_response({"code": 40023, "http": 400, "error": "invalid request"}, status=400)
        message = {"id": f"msg{next(self._ids)}", "event": "message", **message}
        self.messages.append(message)
        return web.json_response(message)

    def to(self, topic: str) -> list[dict[str, Any]]:
        """The messages published to a topic."""
        return [m for m in self.messages if m["topic"] == topic]

    @staticmethod
    def action(message: dict[str, Any], label: str) -> dict[str, Any]:
        """A message's action button by its label."""
        return next(a for a in message["actions"] if a["label"] == label)

    async def press(self, message: dict[str, Any], label: str) -> tuple[int, str]:
        """Tap an "http" action button: ntfy's app sends the action's method to its URL."""
        action = self.action(message, label)
        assert action["action"] == "http" and action["method"] == "POST"
        return await post_form(action["url"], {})
