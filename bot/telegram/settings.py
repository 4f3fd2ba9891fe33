"""The settings the Telegram bot needs (CONTRACT section 2), read from a lookup of the environment."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_API_URL = "https://api.telegram.org"
TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
CHAT = re.compile(r"^(-?\d+)(?::(\d+))?$")


class TelegramSettingsError(ValueError):
    """One Telegram setting has a bad value; the message names it and says what was expected."""


@dataclass(frozen=True, slots=True)
class ChatTarget:
    """A chat, or a forum topic in it, that incident messages go to."""

    chat_id: int
    topic_id: int | None = None

    def __str__(self) -> str:
        return f"{self.chat_id}:{self.topic_id}" if self.topic_id else str(self.chat_id)


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    """Bot token, default chats, webhook secret, Bot API URL and what messages link to."""

    bot_token: str = field(repr=False)
    chats: tuple[ChatTarget, ...] = ()
    webhook_secret: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    public_url: str = "http://localhost:8080"
    alertmanager_url: str | None = None

    @property
    def webhook_mode(self) -> bool:
        """Updates arrive by webhook (else by long polling)."""
        return self.webhook_secret is not None

    @property
    def base_url(self) -> str:
        """PTB's base_url: it calls `{base_url}{token}/{method}`."""
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's base_file_url."""
        return f"{self.api_url}/file/bot"

    @property
    def webhook_url(self) -> str:
        """Where Telegram posts updates in webhook mode."""
        return f"{self.public_url.rstrip('/')}/telegram/webhook"


def parse_chat(text: str, name: str = "TELEGRAM_CHAT_ID") -> ChatTarget:
    """'-1001234' or '-1001234:42' (chat id, forum topic id) to a ChatTarget."""
    match = CHAT.match(text.strip())
    if not match:
        raise TelegramSettingsError(
            f"{name}={text.strip()!r}: expected a numeric chat id such as -1001234567890, "
            "or chat_id:topic_id for a forum topic"
        )
    topic = int(match.group(2)) if match.group(2) else None
    return ChatTarget(int(match.group(1)), topic)


def parse_chats(text: str | None, name: str = "TELEGRAM_CHAT_ID") -> tuple[ChatTarget, ...]:
    """A comma-separated list of chats (empty items ignored)."""
    if not text:
        return ()
    return tuple(parse_chat(item, name) for item in text.split(",") if item.strip())


def read_telegram_settings(
    lookup: Callable[[str], str | None], public_url: str, alertmanager_url: str | None = None
) -> TelegramSettings | None:
    """The Telegram settings, or None when TELEGRAM_BOT_TOKEN is unset (Telegram off).

    `lookup(name)` returns a variable's value or None (the composition root passes its reader, which
    handles the NAME_FILE variants and remembers secrets for log scrubbing).
    """
    token = _value(lookup, "TELEGRAM_BOT_TOKEN")
    if token is None:
        return None
    if not TOKEN.match(token):
        raise TelegramSettingsError(
            "TELEGRAM_BOT_TOKEN: expected a token from @BotFather such as 123456789:AAH... "
            "(digits, a colon, then at least 20 letters, digits, '_' or '-')"
        )
    secret = _value(lookup, "TELEGRAM_WEBHOOK_SECRET")
    if secret is not None and not SECRET.match(secret):
        raise TelegramSettingsError(
            "TELEGRAM_WEBHOOK_SECRET: expected 1 to 256 characters, only letters, digits, '_' and '-' "
            "(Telegram's rule for secret_token)"
        )
    api_url = _value(lookup, "TELEGRAM_API_URL") or DEFAULT_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise TelegramSettingsError("TELEGRAM_API_URL: expected a URL starting with http:// or https://")
    api_url = api_url.rstrip("/")
    if api_url.endswith("/bot"):  # people copy PTB's base_url; both spellings mean the same server
        api_url = api_url[: -len("/bot")]
    return TelegramSettings(
        bot_token=token,
        chats=parse_chats(_value(lookup, "TELEGRAM_CHAT_ID")),
        webhook_secret=secret,
        api_url=api_url,
        public_url=public_url.rstrip("/"),
        alertmanager_url=alertmanager_url,
    )


def _value(lookup: Callable[[str], str | None], name: str) -> str | None:
    value = lookup(name)
    if value is None:
        return None
    value = value.strip()
    return value or None
