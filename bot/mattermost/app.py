"""Everything Mattermost for the composition root: the API client, the delivery channel, the two routes."""

from __future__ import annotations

from quart import Blueprint

from bot.actions import ChatActions
from bot.mattermost.client import MattermostApi, MattermostChannel
from bot.mattermost.handlers import MattermostHandlers
from bot.mattermost.settings import MattermostSettings
from bot.people import Directory, LiveNames, Users


class MattermostTransport:
    """Mattermost's client, channel and routes (nothing to connect: the server posts to Tocsin)."""

    def __init__(self, settings: MattermostSettings, actions: ChatActions, users: Users = ()) -> None:
        directory = Directory(users)
        self.settings = settings
        self.api = MattermostApi(settings)
        self.channel = MattermostChannel(self.api, settings, names=LiveNames(directory))
        self.handlers = MattermostHandlers(actions, settings, directory.users)

    def blueprint(self) -> Blueprint:
        """POST /mattermost/actions and /mattermost/command."""
        return self.handlers.blueprint()

    async def start(self) -> None:
        """Nothing to start: Mattermost calls Tocsin's routes, Tocsin calls its API when it sends."""

    async def stop(self) -> None:
        """Close the HTTP session."""
        await self.api.close()
