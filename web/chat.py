"""Slack and Telegram for the composition root: built from the settings, their routes, channels, start and stop."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from quart import Blueprint, Quart

from bot.delivery import Channel
from bot.slack.app import SlackTransport
from bot.telegram import webhook as telegram_webhook
from bot.telegram.app import TelegramBot, create_bot
from store.domain.config_schema import Config
from web.chat_actions import ChatActions
from web.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ChatTransports:
    """The chat bots the settings turn on (each None when off)."""

    slack: SlackTransport | None = None
    telegram: TelegramBot | None = None
    routes: list[Blueprint] = field(default_factory=list)

    def channels(self) -> list[Channel]:
        """Their delivery channels, for the delivery worker's registry."""
        found: list[Channel] = []
        if self.slack is not None:
            found.append(self.slack.channel)
        if self.telegram is not None:
            found.append(self.telegram.channel)
        return found

    async def start(self) -> None:
        """Connect Socket Mode; start the Telegram application (webhook set, or the single poller)."""
        if self.slack is not None:
            await self.slack.start()
        if self.telegram is not None:
            await self.telegram.start()

    async def stop(self) -> None:
        """Disconnect both (a failure of one does not keep the other running)."""
        for transport in (self.slack, self.telegram):
            if transport is None:
                continue
            try:
                await transport.stop()
            except Exception:
                log.exception("stopping %s failed", type(transport).__name__)


def build_chat(app: Quart, settings: Settings, config: Config, dsn: str) -> ChatTransports:
    """Slack when SLACK_BOT_TOKEN is set, Telegram when TELEGRAM_BOT_TOKEN is; their HTTP routes."""
    actions = ChatActions(app, settings.alertmanager_url, settings.http.public_url)
    chat = ChatTransports()
    if settings.slack is not None:
        chat.slack = SlackTransport(settings.slack, actions, config.users)
        blueprint = chat.slack.blueprint()  # POST /slack/events, or None in Socket Mode
        if blueprint is not None:
            chat.routes.append(blueprint)
    if settings.telegram is not None:
        users = {u.telegram_id: u.id for u in config.users if u.telegram_id is not None}
        chat.telegram = create_bot(settings.telegram, actions, users, dsn)
        if settings.telegram.webhook_secret is not None:
            chat.routes.append(
                telegram_webhook.create_blueprint(chat.telegram.application, settings.telegram.webhook_secret)
            )
    return chat
