"""TELEGRAM_* settings: chats and forum topics, webhook secret, API URL, clear errors naming the variable."""

from __future__ import annotations

import pytest

from bot.telegram.settings import ChatTarget, TelegramSettingsError, read_telegram_settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def read(**env: str):
    return read_telegram_settings(env.get, "https://tocsin.example/", None)


def test_off_without_a_token() -> None:
    assert read(TELEGRAM_CHAT_ID="-1001") is None


def test_chats_topics_and_defaults() -> None:
    settings = read(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID=" -1001234, -1005:42 ,77,")
    assert settings is not None
    assert settings.chats == (ChatTarget(-1001234), ChatTarget(-1005, 42), ChatTarget(77))
    assert [str(c) for c in settings.chats] == ["-1001234", "-1005:42", "77"]
    assert settings.base_url == "https://api.telegram.org/bot"
    assert not settings.webhook_mode
    assert settings.webhook_url == "https://tocsin.example/telegram/webhook"


def test_webhook_secret_and_api_url() -> None:
    settings = read(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET="abc_DEF-9", TELEGRAM_API_URL="http://127.0.0.1:8081/")
    assert settings is not None and settings.webhook_mode
    assert settings.base_url == "http://127.0.0.1:8081/bot"
    same = read(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL="http://127.0.0.1:8081/bot")
    assert same is not None and same.base_url == "http://127.0.0.1:8081/bot"


def test_secrets_are_not_in_the_repr() -> None:
    settings = read(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET="very-secret-value")
    assert TOKEN not in repr(settings) and "very-secret-value" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN: expected a token from @BotFather"),
        # Digits, a colon, letters: what the words once described; the message says how many must follow.
        ({"TELEGRAM_BOT_TOKEN": "123456:TEST"}, "a colon, then at least 20 letters, digits, '_' or '-'"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": "ops"}, "='ops': expected a numeric chat id"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": "-1001:x"}, "TELEGRAM_CHAT_ID='-1001:x'"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "has space"}, "TELEGRAM_WEBHOOK_SECRET: expected 1"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "api.telegram.org"}, "TELEGRAM_API_URL: expected a URL"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(TelegramSettingsError) as info:
        read(**env)
    assert fragment in str(info.value)
    assert TOKEN not in str(info.value)
