"""The chats for the composition root (Slack, Telegram, Discord, Mattermost): built from the settings, their
routes, channels, start and stop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quart import Blueprint, Quart

from bot.actions import ChatActions
from bot.delivery import Channel
from bot.discord.app import DiscordTransport
from bot.mattermost.app import MattermostTransport
from bot.people import Directory, LiveNames
from bot.slack.app import SlackTransport
from bot.telegram import webhook as telegram_webhook
from bot.telegram.app import TelegramBot, create_bot
from store.domain.config_schema import Config
from store.domain.users import User
from web.alertmanager import silencer
from web.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ChatTransports:
    """The chat bots the settings turn on (each None when off)."""

    slack: SlackTransport | None = None
    telegram: TelegramBot | None = None
    discord: DiscordTransport | None = None
    mattermost: MattermostTransport | None = None
    routes: list[Blueprint] = field(default_factory=list)
    names: Mapping[str, str] = field(default_factory=dict)  # config user ids to names, as the config is now

    def _on(self) -> list[Any]:
        return [t for t in (self.slack, self.telegram, self.discord, self.mattermost) if t is not None]

    def background_work(self) -> list[Awaitable[object]]:
        """Actions the chats still run after answering their request (Discord's deferred interactions)."""
        return [task for t in self._on() if hasattr(t, "background_work") for task in t.background_work()]

    def channels(self) -> list[Channel]:
        """Their delivery channels, for the delivery worker's registry."""
        return [t.channel for t in self._on()]

    async def start(self) -> None:
        """Connect Socket Mode; start the Telegram application (webhook set, or the single poller); register
        Discord's command."""
        for transport in self._on():
            await transport.start()

    async def stop(self) -> None:
        """Disconnect every chat (a failure of one does not keep another running)."""
        for transport in self._on():
            try:
                await transport.stop()
            except Exception:
                log.exception("stopping %s failed", type(transport).__name__)


def build_chat(app: Quart, settings: Settings, config: Config, dsn: str) -> ChatTransports:
    """Slack when SLACK_BOT_TOKEN is set, Telegram when TELEGRAM_BOT_TOKEN is; their HTTP routes."""
    actions = ChatActions(lambda: app.extensions.get("tocsin"), silencer(settings.alertmanager_url))

    def users() -> tuple[User, ...]:
        runtime = app.extensions.get("tocsin")  # the config in force follows config versions while serving
        return (runtime.config if runtime is not None else config).users

    chat = ChatTransports(names=LiveNames(Directory(users)))
    if settings.slack is not None:
        chat.slack = SlackTransport(settings.slack, actions, users)
        blueprint = chat.slack.blueprint()  # POST /slack/events, or None in Socket Mode
        if blueprint is not None:
            chat.routes.append(blueprint)
    if settings.telegram is not None:
        chat.telegram = create_bot(settings.telegram, actions, users, dsn)
        if settings.telegram.webhook_secret is not None:
            chat.routes.append(
                telegram_webhook.create_blueprint(chat.telegram.application, settings.telegram.webhook_secret)
            )
    if settings.discord is not None:
        chat.discord = DiscordTransport(settings.discord, actions, users)
        chat.routes.append(chat.discord.blueprint())
    if settings.mattermost is not None:
        chat.mattermost = MattermostTransport(settings.mattermost, actions, users)
        chat.routes.append(chat.mattermost.blueprint())
    return chat
