"""A stand-in of Pushover's API on loopback: messages (token and user key checked, emergency priority needs
retry and expire and gets a receipt), the receipts API, cancel_by_tag, faults; and acknowledging a message in
"the app", which calls the message's callback URL as Pushover does."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.provider_api import Call, StandIn, post_form

APP_TOKEN = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
KEY = re.compile(r"[A-Za-z0-9]{30}")


def _key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(30))


@dataclass
class PushoverApi(StandIn):
    """The stand-in; `url` is PUSHOVER_API_URL."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled_tags: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request, call: Call, raw: bytes) -> web.Response:
        """/1/messages.json, /1/receipts/R.json, /1/receipts/cancel_by_tag/T.json."""
        form = call.body if isinstance(call.body, dict) else {}
        token = form.get("token") or request.query.get("token")
        if token != APP_TOKEN:
            return _refuse(400, "application token is invalid")
        path = request.path
        if path == "/1/messages.json" and request.method == "POST":
            return self._message(form)
        if path.startswith("/1/receipts/cancel_by_tag/") and request.method == "POST":
            self.cancelled_tags.append(path.removeprefix("/1/receipts/cancel_by_tag/").removesuffix(".json"))
            return web.json_response({"status": 1, "canceled": 1, "request": _key()})
        receipt = path.removeprefix("/1/receipts/").removesuffix(".json")
        if request.method == "GET" and receipt in self.receipts:
            state = self.receipts[receipt]
            return web.json_response({"status": 1, "acknowledged": int(state["acknowledged"]),
                                      "acknowledged_by": state["acknowledged_by"], "expired": 0,
                                      "request": _key()})
        return _refuse(404, "receipt not found; may be invalid or expired")

    def _message(self, form: dict[str, str]) -> web.Response:
        if not KEY.fullmatch(form.get("user", "")):
            return _refuse(400, "user identifier is not a valid user, group, or subscribed user key")
        if not form.get("message"):
            return _refuse(400, "message cannot be blank")
        message: dict[str, Any] = dict(form)
        if form.get("priority") == "2":
            if not (int(form.get("retry", 0)) >= 30 and 0 < int(form.get("expire", 0)) <= 10800):
                return _refuse(400, "retry and expire are required for emergency priority")
            message["receipt"] = _key()
            self.receipts[message["receipt"]] = {"acknowledged": False, "acknowledged_by": "", "message": message}
        self.messages.append(message)
        answer = {"status": 1, "request": _key()}
        if "receipt" in message:
            answer["receipt"] = message["receipt"]
        return web.json_response(answer)

    def to(self, user: str) -> list[dict[str, Any]]:
        """The messages sent to a user key."""
        return [m for m in self.messages if m["user"] == user]

    async def acknowledge(self, message: dict[str, Any]) -> tuple[int, str]:
        """The person taps Acknowledge in the Pushover app: the receipt is acknowledged and its callback called."""
        state = self.receipts[message["receipt"]]
        state.update(acknowledged=True, acknowledged_by=message["user"])
        form = {"receipt": message["receipt"], "acknowledged": "1", "acknowledged_at": "1790000000",
                "acknowledged_by": message["user"], "acknowledged_by_device": "phone"}
        return await post_form(message["callback"], form)


def _refuse(status: int, error: str) -> web.Response:
    return web.json_response({"user": "invalid", "errors": [error], "status": 0, "request": _key()}, status=status)
