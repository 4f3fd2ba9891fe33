"""The python-telegram-bot Application: built from the settings, started and stopped with the server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.actions import ChatActions
from bot.people import Directory, LiveNames, Users
from bot.telegram.client import TelegramChannel
from bot.telegram.handlers import COMMANDS, Authorizer, Handlers
from bot.telegram.poller import ALLOWED_UPDATES, SinglePoller
from bot.telegram.settings import TelegramSettings

log = logging.getLogger(__name__)


def build_application(settings: TelegramSettings, handlers: Handlers) -> Application:  # type: ignore[type-arg]
    """An Application talking to TELEGRAM_API_URL; without an updater in webhook mode."""
    builder = (
        Application.builder()
        .token(settings.bot_token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
    )
    if settings.webhook_mode:
        builder = builder.updater(None)
    application = builder.build()
    handlers.register(application)
    return application


def create_bot(
    settings: TelegramSettings, actions: ChatActions, users: Users, dsn: str | None, **poller_options: float
) -> TelegramBot:
    """The bot as the composition root needs it: members of chats in TELEGRAM_CHAT_ID and config `users` with a
    telegram_id may speak to it; in polling mode a SinglePoller on `dsn` makes one replica poll."""
    directory = Directory(users)
    names = LiveNames(directory)
    authorizer = Authorizer(frozenset(c.chat_id for c in settings.chats), directory)
    application = build_application(settings, Handlers(actions, authorizer, settings.public_url))
    poller = None
    if not settings.webhook_mode:
        if dsn is None:
            raise ValueError("polling mode needs the database URL for the poller lock")
        poller = SinglePoller(application, dsn, **poller_options)
    return TelegramBot(settings, application, poller, names=names)


class TelegramBot:
    """Starts the application (commands, webhook or the single poller) and stops it again."""

    def __init__(
        self,
        settings: TelegramSettings,
        application: Application,  # type: ignore[type-arg]
        poller: SinglePoller | None = None,
        retry_interval: float = 30.0,
        names: Mapping[str, str] | None = None,
    ) -> None:
        if not settings.webhook_mode and poller is None:
            raise ValueError("polling mode needs a SinglePoller (TELEGRAM_WEBHOOK_SECRET is unset)")
        self.settings = settings
        self.application = application
        self.poller = poller
        self.retry_interval = retry_interval
        self.channel = TelegramChannel(application.bot, settings, names)
        self._starting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start now; if Telegram cannot be reached, keep retrying in the background (a bad token raises)."""
        try:
            await self._start_once()
        except InvalidToken:
            raise
        except NetworkError as exc:
            log.warning("telegram: cannot reach the Bot API (%s); retrying every %ss", exc, self.retry_interval)
            self._starting = asyncio.create_task(self._keep_trying(), name="telegram-start")

    async def stop(self) -> None:
        """Stop polling, processing and the HTTP clients."""
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        if self.poller is not None:
            await self.poller.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def _keep_trying(self) -> None:
        while True:
            await asyncio.sleep(self.retry_interval)
            try:
                await self._start_once()
                log.info("telegram: connected to the Bot API")
                return
            except NetworkError as exc:
                log.warning("telegram: still cannot reach the Bot API (%s)", exc)

    async def _start_once(self) -> None:
        await self.application.initialize()  # getMe: checks the token
        bot = self.application.bot
        await bot.set_my_commands(list(COMMANDS))
        if self.settings.webhook_mode:
            await bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
            )
            log.info("telegram: webhook set to %s", self.settings.webhook_url)
        if not self.application.running:
            await self.application.start()
        if self.poller is not None:
            self.poller.start()
