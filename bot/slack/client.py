"""Slack's Web API for the delivery pipeline: post, update and thread lines, with results instead of exceptions.

The SDK's own retry handlers are turned off (retry_handlers=[]): a 429 comes back as a SendResult with
retry_after, so the delivery pipeline (durable, shared by every replica) decides when to try again,
and no coroutine sleeps inside the SDK holding a claimed delivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import present
from bot.delivery import SendResult
from bot.slack import render
from bot.slack.settings import SlackSettings
from store.models import Event, Incident

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 30.0
REQUEST_TIMEOUT = 15


class DeliveryLike(Protocol):
    """What SlackChannel reads of a delivery: its kind, its Slack target and the ref of the first post."""

    @property
    def kind(self) -> str: ...

    @property
    def target(self) -> str | None: ...

    @property
    def external_ref(self) -> str | None: ...


def make_web_client(settings: SlackSettings) -> AsyncWebClient:
    """The Web API client at SLACK_API_URL, without the SDK's retries (the delivery pipeline retries)."""
    return AsyncWebClient(
        token=settings.bot_token, base_url=settings.api_url, timeout=REQUEST_TIMEOUT, retry_handlers=[]
    )


def parse_ref(ref: str) -> tuple[str, str]:
    """'C0123:1700000000.000100' to (channel, ts); ValueError when it is not one."""
    channel, sep, ts = ref.partition(":")
    if not sep or not channel or not ts:
        raise ValueError(f"not a Slack message reference (expected CHANNEL:TS): {ref!r}")
    return channel, ts


def _retry_after(headers: Mapping[str, Any] | None) -> float:
    raw = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    try:
        return max(float(raw), 0.0) if raw is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def failure(method: str, exc: BaseException) -> SendResult:
    """Map an exception of the Web API call `method` to a failed SendResult (429 carries retry_after)."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", None)
        data = response.data if isinstance(getattr(response, "data", None), dict) else {}
        code = data.get("error") or "no error code"
        if status == 429 or code == "ratelimited":
            return SendResult(
                False, retry_after=_retry_after(response.headers), error=f"{method}: rate limited by Slack"
            )
        if status is not None and status >= 500:
            return SendResult(False, error=f"{method}: Slack answered HTTP {status}")
        return SendResult(False, error=f"{method}: Slack refused the call ({code})")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return SendResult(False, error=f"{method}: cannot reach Slack ({type(exc).__name__})")
    raise exc


class SlackChannel:
    """The delivery channel for Slack: open posts the message, update edits it and adds a thread line."""

    name = "slack"

    def __init__(self, client: AsyncWebClient, settings: SlackSettings, names: Mapping[str, str] | None = None) -> None:
        self.client = client
        self.settings = settings
        self.names = dict(names or {})

    def _blocks(self, incident: Incident, events: Sequence[Event]) -> list[dict[str, Any]]:
        return render.incident_blocks(
            incident, self.settings.public_url, self.settings.silence_enabled, present.silenced_until(events),
            self.names,
        )

    async def send(self, delivery: DeliveryLike, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Carry out one delivery; never raises for Slack's or the network's failures."""
        blocks = self._blocks(incident, recent_events)
        if delivery.kind == "open":
            target = delivery.target or self.settings.channel
            if not target:
                return SendResult(False, error="no Slack channel: set SLACK_CHANNEL or the route's slack_channel")
            if target[:1] in ("U", "W"):
                return await post_direct(self.client, target, incident, blocks)
            return await post_message(self.client, target, render.fallback_text(incident), blocks)
        if delivery.kind == "update":
            if not delivery.external_ref:
                return SendResult(False, error="update without the reference of the first Slack message")
            event = present.latest_event(recent_events)
            line = render.thread_line(event, self.names) if event else None
            return await update_message(self.client, delivery.external_ref, incident, blocks, line)
        return SendResult(False, error=f"unknown delivery kind {delivery.kind!r} (expected open or update)")

    async def announce(self, delivery: DeliveryLike, text: str) -> SendResult:
        """Post a message of its own (a handoff announcement) to the delivery's channel."""
        target = delivery.target or self.settings.channel
        if not target:
            return SendResult(False, error="no Slack channel to announce in: the schedule's announce names none")
        return await post_message(self.client, target, render.escape(text))


async def post_message(
    client: AsyncWebClient, channel: str, text: str, blocks: list[dict[str, Any]] | None = None
) -> SendResult:
    """chat.postMessage (text is Slack mrkdwn, already escaped); external_ref is 'channel:ts' for later updates."""
    try:
        response = await client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)
    except Exception as exc:  # noqa: BLE001 - mapped to a result; failure() re-raises what it does not know
        return failure("chat.postMessage", exc)
    return SendResult(True, external_ref=f"{response['channel']}:{response['ts']}")


async def post_direct(
    client: AsyncWebClient, user_id: str, incident: Incident, blocks: list[dict[str, Any]]
) -> SendResult:
    """Open the app's direct conversation with a Slack user (conversations.open) and post there."""
    try:
        opened = await client.conversations_open(users=user_id)
    except Exception as exc:  # noqa: BLE001
        return failure("conversations.open", exc)
    return await post_message(client, opened["channel"]["id"], render.fallback_text(incident), blocks)


async def update_message(
    client: AsyncWebClient, ref: str, incident: Incident, blocks: list[dict[str, Any]], line: str | None
) -> SendResult:
    """chat.update of the first message, then one thread line (chat.postMessage with thread_ts)."""
    try:
        channel, ts = parse_ref(ref)
    except ValueError as exc:
        return SendResult(False, error=str(exc))
    try:
        await client.chat_update(channel=channel, ts=ts, text=render.fallback_text(incident), blocks=blocks)
    except Exception as exc:  # noqa: BLE001
        return failure("chat.update", exc)
    if line:
        try:
            await client.chat_postMessage(channel=channel, thread_ts=ts, text=line, unfurl_links=False)
        except Exception as exc:  # noqa: BLE001
            return failure("chat.postMessage (thread)", exc)
    return SendResult(True, external_ref=ref)
