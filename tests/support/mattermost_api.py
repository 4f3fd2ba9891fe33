"""A stand-in of Mattermost's REST API (v4) on 127.0.0.1, and Mattermost's side of buttons and slash commands.

It records every call, answers the calls Tocsin makes the way Mattermost does, and refuses what Mattermost
refuses: a wrong token (401), an unknown channel, post or user (404/403), a message over 16,383 characters
or an action id that is not letters and digits (400). It can answer 429 (with X-Ratelimit-Reset) or 500
for the next N calls. A button click is what Mattermost's server posts: the action's stored context.
"""

from __future__ import annotations

import itertools
import json
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.support.loopback import serve

TOKEN = "mmbottoken0000000000000000"
COMMAND_TOKEN = "mmcommandtoken000000000000"
CHANNEL = "c" * 26
BOT_ID = "b" * 26


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    status: int = 200


@dataclass
class MattermostApi:
    """The stand-in; `url` is the value for MATTERMOST_URL."""

    channels: set[str] = field(default_factory=lambda: {CHANNEL})
    users: dict[str, str] = field(default_factory=dict)  # username -> user id
    calls: list[Call] = field(default_factory=list)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[tuple[int, float]] = field(default_factory=list)  # (status, reset seconds), one per call
    port: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """MATTERMOST_URL for Tocsin."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> MattermostApi:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/api/v4/{path:.*}", self._handle)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, count: int, status: int = 429, reset: float = 1.0) -> None:
        """Answer the next `count` calls with this status (429: with X-Ratelimit-Reset)."""
        self.faults += [(status, reset)] * count

    def calls_to(self, method: str, prefix: str) -> list[Call]:
        """Calls of this HTTP method whose path starts with `prefix` (without /api/v4)."""
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    def click(self, post_id: str, label: str, user_id: str, user_name: str) -> bytes:
        """What Mattermost's server posts to the button's URL when `label` is clicked on the post."""
        action = next(a for a in self.posts[post_id]["props"]["attachments"][0]["actions"] if a["name"] == label)
        return json.dumps({"user_id": user_id, "user_name": user_name, "channel_id": self.posts[post_id]["channel_id"],
                           "post_id": post_id, "type": "button", "context": action["integration"]["context"]}).encode()

    def _new_id(self) -> str:
        number = next(self._ids)
        return (string.ascii_lowercase[number % 26] + str(number)).ljust(26, "0")

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, "api.context.invalid_body_param.app_error", "Invalid or missing body in request.")
        call = Call(request.method, path, body, dict(request.headers))
        self.calls.append(call)
        response = self._answer(request.method, path, body, request.headers.get("Authorization", ""))
        call.status = response.status
        return response

    def _answer(self, method: str, path: str, body: Any, auth: str) -> web.Response:
        if auth != f"Bearer {TOKEN}":
            return _error(401, "api.context.session_expired.app_error",
                          "Invalid or expired session, please login again.")
        if self.faults:
            status, reset = self.faults.pop(0)
            if status == 429:
                return web.json_response({"message": "too many requests"}, status=429,
                                         headers={"X-Ratelimit-Reset": str(reset), "X-Ratelimit-Remaining": "0"})
            return _error(status, "app.internal", "Internal server error")
        parts = path.strip("/").split("/")
        if path == "/posts" and method == "POST":
            return self._create(body)
        if parts[0] == "posts" and len(parts) == 3 and parts[2] == "patch" and method == "PUT":
            return self._patch(parts[1], body)
        if path == "/users/me":
            return web.json_response({"id": BOT_ID, "username": "tocsin"})
        if parts[:2] == ["users", "username"] and len(parts) == 3:
            if parts[2] not in self.users:
                return _error(404, "app.user.missing_account.const", "Unable to find the user.")
            return web.json_response({"id": self.users[parts[2]], "username": parts[2]})
        if path == "/channels/direct" and method == "POST":
            if not (isinstance(body, list) and len(body) == 2 and BOT_ID in body):
                return _error(400, "api.context.invalid_body_param.app_error", "Invalid or missing user_ids.")
            channel = f"{body[0][:13]}{body[1][:13]}"
            self.channels.add(channel)
            return web.json_response({"id": channel, "type": "D"})
        return _error(404, "api.context.404.app_error", "Sorry, we could not find the page.")

    def _create(self, body: Any) -> web.Response:
        problem = invalid_post(body)
        if problem:
            return _error(400, "model.post.is_valid.msg.app_error", problem)
        if body.get("channel_id") not in self.channels:
            return _error(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
        post_id = self._new_id()
        self.posts[post_id] = {**body, "id": post_id}
        return web.json_response(self.posts[post_id], status=201)

    def _patch(self, post_id: str, body: Any) -> web.Response:
        if post_id not in self.posts:
            return _error(404, "app.post.get.app_error", "Unable to get the post.")
        problem = invalid_post({**body, "channel_id": self.posts[post_id]["channel_id"]})
        if problem:
            return _error(400, "model.post.is_valid.msg.app_error", problem)
        self.posts[post_id] = {**self.posts[post_id], **body}
        return web.json_response(self.posts[post_id])


def invalid_post(body: Any) -> str | None:
    """Why Mattermost would refuse this post (None: it would take it)."""
    if not isinstance(body, dict) or not isinstance(body.get("channel_id"), str):
        return "Invalid channel id."
    if len(body.get("message", "")) > 16383:
        return "Invalid message: longer than 16383 characters."
    for attachment in (body.get("props") or {}).get("attachments", []):
        for action in attachment.get("actions", []):
            if not str(action.get("id", "")).isalnum():
                return "Invalid action id: letters and digits only."
            if not action.get("integration", {}).get("url", "").startswith(("http://", "https://")):
                return "Invalid action URL."
    return None


def _error(status: int, error_id: str, message: str) -> web.Response:
    return web.json_response({"id": error_id, "message": message, "status_code": status}, status=status)


def command_form(text: str, user_id: str, user_name: str, token: str = COMMAND_TOKEN) -> bytes:
    """The slash command as Mattermost's server posts it (form-encoded)."""
    return urlencode({"token": token, "team_id": "t" * 26, "channel_id": CHANNEL, "user_id": user_id,
                      "user_name": user_name, "command": "/incident", "text": text,
                      "response_url": "http://127.0.0.1:9/hooks/commands/x", "trigger_id": "x"}).encode()
