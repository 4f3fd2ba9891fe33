"""Discord's HTTP API (v10) for Tocsin: a small typed client on aiohttp, and the delivery channel.

The well-known Discord libraries wait out a 429 inside the call (holding a claimed delivery) and are built
around the gateway; Tocsin needs only a handful of REST calls and must hand a 429's `retry_after` to the
durable outbox, at DISCORD_API_URL. So: a thin client. Rate limits are obeyed twice: a 429 (global or
per route) becomes a SendResult with retry_after, and until that time (or while a route's bucket is
empty, X-RateLimit-Remaining 0) further sends on that route, or every route for a global limit, are held
back without calling Discord, so a rate-limited Discord delays only Discord's own messages.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from bot.delivery import RateLimits, SendResult, ServiceError
from bot.discord import render
from bot.discord.settings import DiscordSettings
from store.domain.delivery import USER_PREFIX
from store.models import Delivery, Event, Incident

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=15)
USER_AGENT = "DiscordBot (https://github.com/tocsin, 0.1)"
GLOBAL = RateLimits.GLOBAL


class DiscordError(ServiceError):
    """Discord refused a call or could not be reached; retry_after when it asked to wait (429)."""


class DiscordApi:
    """The REST calls Tocsin makes, with the bot token; one aiohttp session, opened on first use."""

    def __init__(self, settings: DiscordSettings) -> None:
        self.settings = settings
        self.limits = RateLimits()
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, path: str, body: Any = None, route: str = GLOBAL, auth: bool = True) -> Any:
        """One request; its JSON answer, or DiscordError (a 429 carries retry_after and holds the route)."""
        waiting = self.limits.wait(route)
        if waiting > 0:
            raise DiscordError(f"rate limited by Discord for {waiting:.1f}s more", 429, waiting)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        headers = {"User-Agent": USER_AGENT}
        if auth:
            headers["Authorization"] = f"Bot {self.settings.bot_token}"
        url = f"{self.settings.api_url}{path}"
        try:
            async with self._session.request(method, url, json=body, headers=headers) as response:
                data = await _json(response)
                self._remember(response.headers, data, route, response.status)
                if response.status >= 300:
                    raise _error(path, response.status, data, response.headers)
                return data
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DiscordError(f"cannot reach Discord ({type(exc).__name__})") from None

    def _remember(self, headers: Mapping[str, str], data: Any, route: str, status: int) -> None:
        if status == 429:
            seconds = _retry_after(headers, data)
            is_global = headers.get("X-RateLimit-Global") == "true" or (isinstance(data, dict) and data.get("global"))
            self.limits.hold(GLOBAL if is_global else route, seconds)
        elif headers.get("X-RateLimit-Remaining") == "0":
            with contextlib.suppress(ValueError):
                self.limits.hold(route, float(headers.get("X-RateLimit-Reset-After", "0")))

    async def post_message(self, channel_id: str, body: Mapping[str, Any]) -> str:
        """Create a message; its reference 'channel_id:message_id'."""
        data = await self.call("POST", f"/channels/{channel_id}/messages", body, route=channel_id)
        return f"{data['channel_id']}:{data['id']}"

    async def edit_message(self, ref: str, body: Mapping[str, Any]) -> None:
        """Edit the message of a reference."""
        channel_id, _, message_id = ref.partition(":")
        if not (channel_id.isdigit() and message_id.isdigit()):
            raise DiscordError(f"not a Discord message reference (expected CHANNEL:MESSAGE): {ref!r}")
        await self.call("PATCH", f"/channels/{channel_id}/messages/{message_id}", body, route=channel_id)

    async def open_dm(self, user_id: str) -> str:
        """The id of the bot's direct-message channel with a user."""
        data = await self.call("POST", "/users/@me/channels", {"recipient_id": user_id}, route=f"dm:{user_id}")
        return str(data["id"])

    async def register_commands(self, commands: Sequence[Mapping[str, Any]]) -> None:
        """Overwrite the application's global slash commands."""
        await self.call("PUT", f"/applications/{self.settings.application_id}/commands", list(commands))

    async def follow_up(self, token: str, content: str) -> None:
        """An ephemeral message to whoever used an interaction (its token authorizes the call)."""
        path = f"/webhooks/{self.settings.application_id}/{token}"
        body = {"content": content, "flags": 64, "allowed_mentions": render.NO_MENTIONS}
        await self.call("POST", path, body, route="interactions", auth=False)

    async def edit_original(self, token: str, content: str) -> None:
        """Replace a deferred interaction answer's text."""
        path = f"/webhooks/{self.settings.application_id}/{token}/messages/@original"
        body = {"content": content, "allowed_mentions": render.NO_MENTIONS}
        await self.call("PATCH", path, body, route="interactions", auth=False)


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None


def _retry_after(headers: Mapping[str, str], data: Any) -> float:
    raw = data.get("retry_after") if isinstance(data, dict) else None
    raw = raw if raw is not None else headers.get("Retry-After")
    try:
        return max(float(raw), 0.0) if raw is not None else 5.0
    except (TypeError, ValueError):
        return 5.0


def _error(path: str, status: int, data: Any, headers: Mapping[str, str]) -> DiscordError:
    if status == 429:
        return DiscordError(f"{path}: rate limited by Discord", 429, _retry_after(headers, data))
    detail = data.get("message") if isinstance(data, dict) else None
    if status >= 500:
        return DiscordError(f"{path}: Discord answered HTTP {status}", status)
    return DiscordError(f"{path}: Discord refused the call (HTTP {status}: {detail or 'no message'})", status)


class DiscordChannel:
    """The delivery channel: open posts the incident's message (to a channel, or a DM), update edits it."""

    name = "discord"

    def __init__(self, api: DiscordApi, settings: DiscordSettings, names: Mapping[str, str] | None = None) -> None:
        self.api = api
        self.settings = settings
        self.names = dict(names or {})

    def message(self, incident: Incident, events: Sequence[Event]) -> dict[str, Any]:
        """The message body for the incident as it stands."""
        return render.incident_message(incident, events, self.settings.public_url, self.settings.silence_enabled,
                                       self.names)

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Carry out one delivery; never raises for Discord's or the network's failures."""
        body = self.message(incident, recent_events)
        try:
            if delivery.kind == "open":
                return SendResult(True, external_ref=await self._post(delivery.target, body))
            if delivery.kind == "update":
                if not delivery.external_ref:
                    return SendResult(False, error="update without the reference of the first Discord message")
                await self.api.edit_message(delivery.external_ref, body)
                return SendResult(True, external_ref=delivery.external_ref)
        except DiscordError as exc:
            return exc.result()
        return SendResult(False, error=f"unknown delivery kind {delivery.kind!r} (expected open or update)")

    async def announce(self, delivery: Delivery, text: str) -> SendResult:
        """Post a message of its own (a handoff announcement)."""
        try:
            return SendResult(True, external_ref=await self._post(delivery.target, render.mention_free(text)))
        except DiscordError as exc:
            return exc.result()

    async def _post(self, target: str | None, body: Mapping[str, Any]) -> str:
        target = target or self.settings.channel_id
        if not target:
            raise DiscordError("no Discord channel: set DISCORD_CHANNEL_ID or the route's discord_channel")
        if target.startswith(USER_PREFIX):
            target = await self.api.open_dm(target.removeprefix(USER_PREFIX))
        return await self.api.post_message(target, body)

