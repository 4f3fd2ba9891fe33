"""Everything Discord for the composition root: the API client, the delivery channel, the interactions route."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from quart import Blueprint

from bot.actions import ChatActions
from bot.discord.client import DiscordApi, DiscordChannel, DiscordError
from bot.discord.interactions import COMMANDS, Interactions, interactions_blueprint
from bot.discord.settings import DiscordSettings
from bot.people import Directory, LiveNames, Users

log = logging.getLogger(__name__)


class DiscordTransport:
    """Discord's client, channel and interactions; start registers the /incident command."""

    def __init__(
        self, settings: DiscordSettings, actions: ChatActions, users: Users = (), retry_interval: float = 60.0
    ) -> None:
        directory = Directory(users)
        self.settings = settings
        self.api = DiscordApi(settings)
        self.channel = DiscordChannel(self.api, settings, names=LiveNames(directory))
        self.interactions = Interactions(actions, self.api, settings, directory.users)
        self.retry_interval = retry_interval
        self._registering: asyncio.Task[None] | None = None

    def blueprint(self) -> Blueprint:
        """POST /discord/interactions."""
        return interactions_blueprint(self.interactions)

    def background_work(self) -> list[asyncio.Task[None]]:
        """Actions still running after their interaction was answered."""
        return list(self.interactions.work)

    async def start(self) -> None:
        """Register the slash command in the background (Discord being away must not hold up serving)."""
        self._registering = asyncio.create_task(self._register(), name="discord-commands")

    async def _register(self) -> None:
        while True:
            try:
                await self.api.register_commands(COMMANDS)
                log.info("discord: /incident registered; interactions at %s", self.settings.interactions_url)
                return
            except DiscordError as exc:
                if exc.status in (401, 403):
                    log.error("discord: the bot token or application id is refused (%s); check DISCORD_*", exc)
                    return
                log.warning("discord: cannot register /incident (%s); retrying in %ss", exc, self.retry_interval)
                await asyncio.sleep(exc.retry_after or self.retry_interval)

    async def stop(self) -> None:
        """Stop registering, let running actions finish briefly, close the HTTP session."""
        if self._registering is not None and not self._registering.done():
            self._registering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._registering
        if self.interactions.work:
            await asyncio.wait(list(self.interactions.work), timeout=5)
        await self.api.close()
