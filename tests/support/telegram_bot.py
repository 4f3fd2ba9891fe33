"""The Telegram bot wired to the Bot API stand-in and to the chat core."""

from __future__ import annotations

from bot.actions import ChatActions
from bot.telegram.app import TelegramBot, create_bot
from bot.telegram.settings import ChatTarget, TelegramSettings
from store.domain.users import User

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "webhook-s3cret_value"
TRUSTED_CHAT = -1001
ALICE_TG = 111111  # in the config as "alice"


def telegram_settings(api_url: str, webhook: bool, token: str = TOKEN) -> TelegramSettings:
    """Settings pointing at the stand-in, trusting TRUSTED_CHAT."""
    return TelegramSettings(
        token,
        chats=(ChatTarget(TRUSTED_CHAT),),
        webhook_secret=SECRET if webhook else None,
        api_url=api_url,
        public_url="https://tocsin.example",
        alertmanager_url="http://alertmanager:9093",
    )


def make_bot(
    settings: TelegramSettings, actions: ChatActions, dsn: str | None = None, **poller_options: float
) -> TelegramBot:
    """The bot as the composition root builds it, with alice's telegram_id in the config."""
    return create_bot(settings, actions, [User("alice", "Alice Example", telegram_id=ALICE_TG)], dsn, **poller_options)
