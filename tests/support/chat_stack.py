"""The outside world of an end-to-end chat test: Slack's, Telegram's, Discord's and Mattermost's stand-ins and an
SMTP sink, served from an event loop in a background thread so that a synchronous test can drive a real
`tocsin serve`."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from tests.support import discord_api, mattermost_api
from tests.support.discord_api import DiscordApi
from tests.support.mattermost_api import MattermostApi
from tests.support.slack_api import SlackApi
from tests.support.smtp import SmtpSink
from tests.support.telegram_api import FakeTelegramApi

T = TypeVar("T")
SLACK_TOKEN = "xoxb-e2e-token"
MATTERMOST_SECRET = "e2e-mattermost-action-secret-0123"


class BackgroundLoop:
    """An asyncio loop in a daemon thread; run(coro) waits for its result (bounded)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-standins", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class ChatWorld:
    """Slack's Web API, Telegram's Bot API, Discord's and Mattermost's APIs and an SMTP server, all on loopback."""

    def __init__(self) -> None:
        self.background = BackgroundLoop()
        self.slack = SlackApi(token=SLACK_TOKEN)
        self.telegram = FakeTelegramApi()
        self.discord = DiscordApi()
        self.mattermost = MattermostApi()
        self.smtp = SmtpSink()

    def servers(self) -> list[Any]:
        """Every stand-in."""
        return [self.slack, self.telegram, self.discord, self.mattermost, self.smtp]

    def start(self) -> ChatWorld:
        """Start them all."""
        for server in self.servers():
            self.background.run(server.start())
        return self

    def env(self) -> dict[str, str]:
        """The settings that point Discord and Mattermost at their stand-ins (default channels included)."""
        return {
            "DISCORD_BOT_TOKEN": discord_api.TOKEN, "DISCORD_PUBLIC_KEY": self.discord.public_key,
            "DISCORD_APPLICATION_ID": discord_api.APPLICATION_ID, "DISCORD_CHANNEL_ID": discord_api.CHANNEL,
            "DISCORD_API_URL": self.discord.api_url, "MATTERMOST_URL": self.mattermost.url,
            "MATTERMOST_BOT_TOKEN": mattermost_api.TOKEN, "MATTERMOST_ACTION_SECRET": MATTERMOST_SECRET,
            "MATTERMOST_COMMAND_TOKEN": mattermost_api.COMMAND_TOKEN, "MATTERMOST_CHANNEL_ID": mattermost_api.CHANNEL,
        }

    def stop(self) -> None:
        """Stop them all and the loop."""
        for server in self.servers():
            self.background.run(server.stop())
        self.background.close()


def wait_for(predicate: Callable[[], T], timeout: float = 30, what: str = "condition") -> T:
    """Poll until predicate() is truthy (bounded in time); its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
