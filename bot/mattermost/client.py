"""Mattermost's REST API (v4) for Tocsin: a small client on aiohttp, and the delivery channel.

The Python drivers for Mattermost are synchronous (requests) or unmaintained, so this is a thin client
for the few calls Tocsin makes. Mattermost's rate limit is per token: a 429 (Retry-After, else
X-Ratelimit-Reset) is handed to the outbox as retry_after and holds every send until then, so a
rate-limiting or failing Mattermost delays only Mattermost's own messages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from bot.delivery import RateLimits, SendResult, ServiceError
from bot.mattermost import render
from bot.mattermost.settings import MattermostSettings
from store.domain.delivery import USER_PREFIX
from store.models import Delivery, Event, Incident

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=15)


class MattermostError(ServiceError):
    """Mattermost refused a call or could not be reached; retry_after when it asked to wait (429)."""


class MattermostApi:
    """The REST calls Tocsin makes, with the bot's token; one aiohttp session, opened on first use."""

    def __init__(self, settings: MattermostSettings) -> None:
        self.settings = settings
        self.limits = RateLimits()
        self._session: aiohttp.ClientSession | None = None
        self._bot_id: str | None = None
        self._user_ids: dict[str, str] = {}  # username -> id

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; its JSON answer, or MattermostError (a 429 carries retry_after and holds every call)."""
        waiting = self.limits.wait(RateLimits.GLOBAL)
        if waiting > 0:
            raise MattermostError(f"rate limited by Mattermost for {waiting:.1f}s more", 429, waiting)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        headers = {"Authorization": f"Bearer {self.settings.bot_token}"}
        try:
            async with self._session.request(method, f"{self.settings.api_url}{path}", json=body,
                                             headers=headers) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
                if response.status == 429:
                    seconds = _retry_after(response.headers)
                    self.limits.hold(RateLimits.GLOBAL, seconds)
                    raise MattermostError(f"{path}: rate limited by Mattermost", 429, seconds)
                if response.status >= 300:
                    raise _error(path, response.status, data)
                return data
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise MattermostError(f"cannot reach Mattermost ({type(exc).__name__})") from None

    async def create_post(self, channel_id: str, post: Mapping[str, Any]) -> str:
        """Create a post; its id."""
        data = await self.call("POST", "/posts", {"channel_id": channel_id, **post})
        return str(data["id"])

    async def patch_post(self, post_id: str, post: Mapping[str, Any]) -> None:
        """Change a post's message and props."""
        if not post_id.isalnum():
            raise MattermostError(f"not a Mattermost post id: {post_id!r}")
        await self.call("PUT", f"/posts/{post_id}/patch", dict(post))

    async def direct_channel(self, user: str) -> str:
        """The bot's direct channel with a user (an id, or '@username')."""
        if self._bot_id is None:
            self._bot_id = str((await self.call("GET", "/users/me"))["id"])
        user_id = await self._user_id(user)
        data = await self.call("POST", "/channels/direct", [self._bot_id, user_id])
        return str(data["id"])

    async def _user_id(self, user: str) -> str:
        name = user.removeprefix("@")
        if len(name) == 26 and name.isalnum() and not user.startswith("@"):
            return name
        if name not in self._user_ids:
            self._user_ids[name] = str((await self.call("GET", f"/users/username/{name}"))["id"])
        return self._user_ids[name]


def _retry_after(headers: Mapping[str, str]) -> float:
    for name in ("Retry-After", "X-Ratelimit-Reset"):
        try:
            return max(float(headers[name]), 0.0)
        except (KeyError, ValueError):
            continue
    return 5.0


def _error(path: str, status: int, data: Any) -> MattermostError:
    if status >= 500:
        return MattermostError(f"{path}: Mattermost answered HTTP {status}", status)
    detail = data.get("message") if isinstance(data, dict) else None
    return MattermostError(f"{path}: Mattermost refused the call (HTTP {status}: {detail or 'no message'})", status)


class MattermostChannel:
    """The delivery channel: open creates the incident's post (in a channel, or a DM), update patches it."""

    name = "mattermost"

    def __init__(
        self, api: MattermostApi, settings: MattermostSettings, names: Mapping[str, str] | None = None
    ) -> None:
        self.api = api
        self.settings = settings
        self.names = dict(names or {})

    def post(self, incident: Incident, events: Sequence[Event]) -> dict[str, Any]:
        """The post for the incident as it stands."""
        s = self.settings
        return render.incident_post(incident, events, s.public_url, s.silence_enabled, s.actions_url,
                                    s.action_secret, self.names)

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Carry out one delivery; never raises for Mattermost's or the network's failures."""
        post = self.post(incident, recent_events)
        try:
            if delivery.kind == "open":
                return SendResult(True, external_ref=await self._create(delivery.target, post))
            if delivery.kind == "update":
                if not delivery.external_ref:
                    return SendResult(False, error="update without the id of the first Mattermost post")
                await self.api.patch_post(delivery.external_ref, post)
                return SendResult(True, external_ref=delivery.external_ref)
        except MattermostError as exc:
            return exc.result()
        return SendResult(False, error=f"unknown delivery kind {delivery.kind!r} (expected open or update)")

    async def announce(self, delivery: Delivery, text: str) -> SendResult:
        """Post a message of its own (a handoff announcement)."""
        try:
            post = {"message": render.cut(render.escape(text), render.MAX_MESSAGE)}
            return SendResult(True, external_ref=await self._create(delivery.target, post))
        except MattermostError as exc:
            return exc.result()

    async def _create(self, target: str | None, post: Mapping[str, Any]) -> str:
        target = target or self.settings.channel_id
        if not target:
            raise MattermostError("no Mattermost channel: set MATTERMOST_CHANNEL_ID or the route's mattermost_channel")
        if target.startswith(USER_PREFIX):
            target = await self.api.direct_channel(target.removeprefix(USER_PREFIX))
        return await self.api.create_post(target, post)
