"""The Bot API stand-in answers the real python-telegram-bot like Telegram does (ids, errors, getUpdates)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter

from bot.telegram.client import retry_after_seconds
from tests.support.telegram_api import FakeTelegramApi

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
async def bot(api: FakeTelegramApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{api.url}/bot") as real_bot:
        yield real_bot


async def test_get_me_and_calls_are_recorded_with_the_token(api: FakeTelegramApi, bot: Bot) -> None:
    assert bot.username == "tocsin_test_bot"
    assert api.calls[0].method == "getMe" and api.calls[0].token == TOKEN


async def test_a_wrong_bot_token_is_refused_as_telegram_does(api: FakeTelegramApi) -> None:
    wrong = Bot("123456789:WRONGdqTcvCH1vGWJxfSeofSAs0K5PALDs", base_url=f"{api.url}/bot")
    with pytest.raises(InvalidToken):
        await wrong.initialize()  # getMe answered 401 Unauthorized
    with pytest.raises(InvalidToken):
        await wrong.send_message(-1001, "nope")
    assert api.calls_to("sendMessage")[0].token != TOKEN and -1001 not in {chat for chat, _ in api.messages}


async def test_send_edit_and_topics(api: FakeTelegramApi, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Acknowledge", callback_data="ack:1")]])
    first = await bot.send_message(-1001, "<b>one</b> &amp; two", parse_mode="HTML", reply_markup=keyboard)
    second = await bot.send_message(-1001, "in a topic", message_thread_id=42)
    assert (first.message_id, second.message_id) == (1, 2)
    assert second.message_thread_id == 42 and second.is_topic_message
    sent = api.calls_to("sendMessage")[0].params
    assert sent["chat_id"] == -1001 and sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ack:1"
    edited = await bot.edit_message_text("changed", chat_id=-1001, message_id=1)
    assert edited.text == "changed" and api.messages[(-1001, 1)]["text"] == "changed"
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("changed", chat_id=-1001, message_id=1)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=-1001, message_id=99)


async def test_bad_html_and_too_long_text_are_refused_like_telegram(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)can.t parse entities"):
        await bot.send_message(-1001, "a <script> & b", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)too long"):
        await bot.send_message(-1001, "x" * 4097)
    await bot.send_message(-1001, "&lt;" * 4096, parse_mode="HTML")  # 4,096 visible characters are fine


async def test_flood_control_and_server_errors(api: FakeTelegramApi, bot: Bot) -> None:
    api.fail_next(2, status=429, retry_after=7)
    for _ in range(2):
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(-1001, "x")
        assert retry_after_seconds(info.value) == 7
    await bot.send_message(-1001, "through")
    api.fail_for(60, status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(-1001, "x")
    with pytest.raises(NetworkError):
        await bot.set_my_commands([BotCommand("help", "help")])


async def test_get_updates_honours_offset_and_timeout(api: FakeTelegramApi, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == ()
    first = api.queue_update({"message": {"message_id": 5, "date": 0, "chat": {"id": 1, "type": "private"},
                                          "text": "hi"}})
    updates = await bot.get_updates(timeout=1)
    assert [u.update_id for u in updates] == [first] and updates[0].message.text == "hi"
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first]  # not confirmed yet
    assert await bot.get_updates(offset=first + 1, timeout=1) == ()  # confirmed, and the long poll times out


async def test_commands_and_webhook_are_kept(api: FakeTelegramApi, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("ack", "Acknowledge")])
    assert api.commands == [{"command": "ack", "description": "Acknowledge"}]
    await bot.set_webhook("https://tocsin.example/telegram/webhook", secret_token="abc")
    assert api.webhook is not None and api.webhook["secret_token"] == "abc"
    await bot.delete_webhook()
    assert api.webhook is None
