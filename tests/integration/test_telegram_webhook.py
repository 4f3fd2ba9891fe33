"""Webhook mode: the secret header, every command and button reaching the actions, refusals changing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from quart import Quart

from bot.telegram.app import TelegramBot
from bot.telegram.webhook import SECRET_HEADER, create_blueprint
from store.domain.incident import ActionSource
from store.errors import ApiError
from tests.support.telegram_api import FakeTelegramApi, callback_update, message_update, user_json
from tests.support.telegram_bot import (
    ALICE_TG,
    BROKEN_ID,
    MISSING_ID,
    RESOLVED_ID,
    SECRET,
    TRUSTED_CHAT,
    UNAVAILABLE_ID,
    RecordingActions,
    make_bot,
    telegram_settings,
)

TG = ActionSource.TELEGRAM
ALICE = user_json(ALICE_TG, "Alice", "alice_tg")
BOB = user_json(222222, "Bob", "bob_tg")  # not in the config
MALLORY = user_json(666666, "Mallory", None)  # not in the config
STRANGE_CHAT = -100999


@dataclass
class Env:
    api: FakeTelegramApi
    actions: RecordingActions
    bot: TelegramBot
    quart: Quart
    next_update_id: int = 1

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        """POST an update to /telegram/webhook; the HTTP status."""
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        body = {"update_id": self.next_update_id, **update}
        self.next_update_id += 1
        response = await self.quart.test_client().post("/telegram/webhook", json=body, headers=headers)
        return response.status_code

    async def reply(self, update: dict[str, Any], number: int = 1) -> str:
        """Post an update and wait for the bot's `number`-th message; its text."""
        assert await self.post(update) == 200
        return (await self.api.wait_for("sendMessage", number))[number - 1].params["text"]

    async def press(self, data: str, user: dict[str, Any] = ALICE, chat: int = TRUSTED_CHAT, number: int = 1) -> str:
        """Press a button and wait for the `number`-th answerCallbackQuery; its text."""
        assert await self.post(callback_update(data, chat, user, query_id=f"q{number}")) == 200
        answer = (await self.api.wait_for("answerCallbackQuery", number))[number - 1].params
        assert answer["callback_query_id"] == f"q{number}"
        return answer.get("text", "")


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    api = await FakeTelegramApi().start()
    settings = telegram_settings(api.url, webhook=True)
    actions = RecordingActions()
    bot = make_bot(settings, actions)
    await bot.start()
    quart = Quart(__name__)
    quart.register_blueprint(create_blueprint(bot.application, SECRET))

    @quart.errorhandler(ApiError)
    async def api_error(error: ApiError) -> tuple[dict[str, Any], int]:
        return error.body(), error.status

    yield Env(api, actions, bot, quart)
    await bot.stop()
    await api.stop()


async def test_start_registers_commands_and_the_webhook(env: Env) -> None:
    assert [c["command"] for c in env.api.commands] == ["incidents", "ack", "resolve", "oncall", "help"]
    assert env.api.webhook is not None
    assert env.api.webhook["url"] == "https://tocsin.example/telegram/webhook"
    assert env.api.webhook["secret_token"] == SECRET
    assert env.api.webhook["allowed_updates"] == ["message", "callback_query"]
    assert env.api.calls_to("getUpdates") == []


@pytest.mark.parametrize(("secret", "status"), [(None, 401), ("wrong-secret", 403), ("", 401)])
async def test_wrong_or_missing_secret_is_refused(env: Env, secret: str | None, status: int) -> None:
    assert await env.post(message_update("/ack 42", TRUSTED_CHAT, ALICE), secret=secret) == status
    assert "/help" in await env.reply(message_update("/help", TRUSTED_CHAT, ALICE))  # processed in order
    assert env.actions.calls == []
    assert len(env.api.calls_to("sendMessage")) == 1


async def test_a_body_that_is_not_an_update_is_400(env: Env) -> None:
    response = await env.quart.test_client().post(
        "/telegram/webhook", data="nope", headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "invalid_payload"


async def test_ack_from_a_config_user_records_the_config_id(env: Env) -> None:
    text = await env.reply(message_update("/ack 42", STRANGE_CHAT, ALICE))  # any chat, even a private one
    assert env.actions.calls == [("acknowledge", 42, "alice", TG)]
    assert text == "#42 acknowledged. ✔️"


async def test_ack_addressed_to_the_bot_in_a_group(env: Env) -> None:
    await env.reply(message_update("/ack@tocsin_test_bot #7", TRUSTED_CHAT, BOB))
    assert env.actions.calls == [("acknowledge", 7, "@bob_tg", TG)]


async def test_resolve_keeps_the_note_as_typed(env: Env) -> None:
    text = await env.reply(message_update("/resolve 42 disk  cleaned <up> & done", TRUSTED_CHAT, BOB))
    assert env.actions.calls == [("resolve", 42, "@bob_tg", TG, "disk  cleaned <up> & done")]
    assert text == "#42 resolved. ✔️"
    await env.reply(message_update("/resolve 42", TRUSTED_CHAT, BOB), number=2)
    assert env.actions.calls[-1] == ("resolve", 42, "@bob_tg", TG, None)


async def test_incidents_and_oncall(env: Env) -> None:
    listing = await env.reply(message_update("/incidents", TRUSTED_CHAT, BOB))
    assert "Open incidents (2)" in listing and "#42" in listing and "#44" in listing
    assert env.api.calls_to("sendMessage")[0].params["parse_mode"] == "HTML"
    oncall = await env.reply(message_update("/oncall", TRUSTED_CHAT, BOB), number=2)
    assert oncall == env.actions.oncall
    assert env.actions.calls == [("list_open",), ("oncall_text",)]


@pytest.mark.parametrize("command", ["/help", "/start"])
async def test_help_shows_the_ids_an_admin_needs(env: Env, command: str) -> None:
    text = await env.reply(message_update(command, STRANGE_CHAT, MALLORY))  # no authorization needed
    assert "/resolve ID [note]" in text and f"<code>{STRANGE_CHAT}</code>" in text and "<code>666666</code>" in text
    assert env.actions.calls == []


@pytest.mark.parametrize("command", ["/ack", "/ack x", "/resolve", "/resolve abc note"])
async def test_usage_is_explained(env: Env, command: str) -> None:
    assert (await env.reply(message_update(command, TRUSTED_CHAT, ALICE))).startswith("Usage: /")
    assert env.actions.calls == []


async def test_store_errors_are_told_plainly(env: Env) -> None:
    assert await env.reply(message_update(f"/ack {MISSING_ID}", TRUSTED_CHAT, ALICE)) == "Incident #404 does not exist"
    text = await env.reply(message_update(f"/resolve {RESOLVED_ID}", TRUSTED_CHAT, ALICE), number=2)
    assert text == "Cannot resolve incident #43: it is resolved"


@pytest.mark.parametrize(
    "command", ["/ack 42", "/resolve 42 fixed", "/incidents", "/oncall"]
)
async def test_unknown_user_in_unknown_chat_is_refused(env: Env, command: str) -> None:
    text = await env.reply(message_update(command, STRANGE_CHAT, BOB))
    assert text.startswith("Not allowed:") and str(STRANGE_CHAT) in text and "222222" in text
    assert "Nothing was changed." in text
    assert env.actions.calls == []


async def test_buttons_reach_the_actions_and_are_answered(env: Env) -> None:
    assert await env.press("ack:42") == "#42 acknowledged. ✔️"
    assert await env.press("resolve:42", user=BOB, number=2) == "#42 resolved. ✔️"
    assert await env.press("silence:42", number=3) == "#42: alerts silenced for 1h. ✔️"
    assert env.actions.calls == [
        ("acknowledge", 42, "alice", TG),
        ("resolve", 42, "@bob_tg", TG, None),
        ("silence", 42, "alice", TG, 3600),
    ]


async def test_button_errors_are_answered_too(env: Env) -> None:
    assert await env.press(f"ack:{RESOLVED_ID}") == "Cannot acknowledge incident #43: it is resolved"
    assert await env.press("explode:42", number=2) == "This button is not understood (an old message?). Nothing " \
        "was changed."
    assert env.actions.calls == [("acknowledge", RESOLVED_ID, "alice", TG)]


async def test_button_from_an_unknown_user_in_an_unknown_chat_is_refused(env: Env) -> None:
    text = await env.press("ack:42", user=MALLORY, chat=STRANGE_CHAT)
    assert text.startswith("Not allowed:") and "666666" in text
    assert env.api.calls_to("answerCallbackQuery")[0].params["show_alert"] is True
    assert env.actions.calls == []


async def test_unexpected_errors_still_answer(env: Env) -> None:
    text = await env.press(f"ack:{UNAVAILABLE_ID}")
    assert text == "The database is unavailable; retry later. Nothing was changed; try again."
    assert (await env.press(f"resolve:{BROKEN_ID}", number=2)).startswith("Something went wrong")
    reply = await env.reply(message_update(f"/ack {BROKEN_ID}", TRUSTED_CHAT, ALICE))
    assert reply.startswith("Something went wrong")


async def test_start_keeps_trying_while_the_bot_api_fails() -> None:
    api = await FakeTelegramApi().start()
    api.fail_next(2, status=500)  # getMe fails twice
    bot = make_bot(telegram_settings(api.url, webhook=True), RecordingActions())
    bot.retry_interval = 0.05
    try:
        await bot.start()  # does not raise: Telegram being down must not stop Tocsin
        await api.wait_for("setWebhook")
        assert len(api.calls_to("getMe")) == 3 and bot.application.running
    finally:
        await bot.stop()
        await api.stop()
