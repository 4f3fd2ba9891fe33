"""Webhook mode: the secret header, every command and button reaching the actions, refusals changing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from quart import Quart

from bot.telegram.app import TelegramBot
from bot.telegram.webhook import SECRET_HEADER, create_blueprint
from store.db import Database
from store.errors import ApiError
from tests.support.chat_core import RecordingSilencer, core_on, note_texts, people_did, wait_for_people
from tests.support.incidents import open_incident
from tests.support.telegram_api import FakeTelegramApi, callback_update, message_update, user_json
from tests.support.telegram_bot import ALICE_TG, SECRET, TRUSTED_CHAT, make_bot, telegram_settings

TG = "telegram"
ALICE = user_json(ALICE_TG, "Alice", "alice_tg")
BOB = user_json(222222, "Bob", "bob_tg")  # not in the config
MALLORY = user_json(666666, "Mallory", None)  # not in the config
STRANGE_CHAT = -100999


@dataclass
class Env:
    api: FakeTelegramApi
    db: Database
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
async def env(db: Database) -> AsyncIterator[Env]:
    api = await FakeTelegramApi().start()
    settings = telegram_settings(api.url, webhook=True)
    bot = make_bot(settings, core_on(db, RecordingSilencer()))
    await bot.start()
    quart = Quart(__name__)
    quart.register_blueprint(create_blueprint(bot.application, SECRET))

    @quart.errorhandler(ApiError)
    async def api_error(error: ApiError) -> tuple[dict[str, Any], int]:
        return error.body(), error.status

    yield Env(api, db, bot, quart)
    await bot.stop()
    await api.stop()


async def test_start_registers_commands_and_the_webhook(env: Env) -> None:
    assert [c["command"] for c in env.api.commands] == ["incidents", "ack", "resolve", "unack", "reassign", "escalate",
                                                        "snooze", "maintenance", "heartbeats", "oncall", "check",
                                                        "uncheck", "postmortem", "new", "override", "help"]
    assert env.api.webhook is not None
    assert env.api.webhook["url"] == "https://tocsin.example/telegram/webhook"
    assert env.api.webhook["secret_token"] == SECRET
    assert env.api.webhook["allowed_updates"] == ["message", "callback_query"]
    assert env.api.calls_to("getUpdates") == []


@pytest.mark.parametrize(("secret", "status"), [(None, 401), ("wrong-secret", 403), ("", 401)])
async def test_wrong_or_missing_secret_is_refused(env: Env, secret: str | None, status: int) -> None:
    incident_id = await open_incident(env.db, "secret")
    assert await env.post(message_update(f"/ack {incident_id}", TRUSTED_CHAT, ALICE), secret=secret) == status
    assert "/help" in await env.reply(message_update("/help", TRUSTED_CHAT, ALICE))  # processed in order
    assert await people_did(env.db, incident_id) == []
    assert len(env.api.calls_to("sendMessage")) == 1


async def test_a_body_that_is_not_an_update_is_400(env: Env) -> None:
    response = await env.quart.test_client().post(
        "/telegram/webhook", data="nope", headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "invalid_payload"


async def test_ack_from_a_config_user_records_the_config_id(env: Env) -> None:
    incident_id = await open_incident(env.db, "ack")
    text = await env.reply(message_update(f"/ack {incident_id}", STRANGE_CHAT, ALICE))  # any chat, even a private one
    assert await people_did(env.db, incident_id) == [("acknowledged", "alice", TG)]
    assert text.startswith(f"Acknowledged #{incident_id} ") and text.endswith(" ✔️")


async def test_ack_addressed_to_the_bot_in_a_group(env: Env) -> None:
    incident_id = await open_incident(env.db, "group")
    await env.reply(message_update(f"/ack@tocsin_test_bot #{incident_id}", TRUSTED_CHAT, BOB))
    assert await people_did(env.db, incident_id) == [("acknowledged", "@bob_tg", TG)]


async def test_snooze_unack_and_maintenance_commands_reach_the_store(env: Env) -> None:
    incident_id = await open_incident(env.db, "snooze")
    refused = await env.reply(message_update(f"/unack {incident_id}", TRUSTED_CHAT, ALICE))
    assert refused == f"Cannot unacknowledge #{incident_id}: #{incident_id} was triggered."
    snoozed = await env.reply(message_update(f"/snooze@tocsin_test_bot {incident_id} 2h", TRUSTED_CHAT, ALICE), 2)
    assert snoozed.startswith(f"Snoozed #{incident_id} ") and " for 2h, until " in snoozed and snoozed.endswith(" ✔️")
    unacked = await env.reply(message_update(f"/unack #{incident_id}", TRUSTED_CHAT, BOB), 3)
    assert unacked.startswith(f"Unacknowledged #{incident_id} ")
    async with env.db.connection() as conn:
        rows = await conn.fetch("SELECT kind, actor, source FROM incident_events WHERE incident_id = $1 AND kind IN "
                                "('snoozed', 'unacknowledged') ORDER BY id", incident_id)
    assert [tuple(r) for r in rows] == [("snoozed", "alice", TG), ("unacknowledged", "@bob_tg", TG)]
    made = await env.reply(message_update('/maintenance 2h service="db prod", env="eu"', TRUSTED_CHAT, ALICE), 4)
    assert made.startswith("Maintenance ") and ": alerts it covers open incidents that do not page" in made
    async with env.db.connection() as conn:
        window = await conn.fetchrow("SELECT matchers, created_by FROM maintenance_windows")
    assert (list(window["matchers"]), window["created_by"]) == (['service="db prod"', 'env="eu"'], "alice")
    usage = await env.reply(message_update("/snooze soon", TRUSTED_CHAT, ALICE), 5)
    assert usage == "soon is not an incident number. Usage: /snooze ID [duration]"
    stranger = await env.reply(message_update('/maintenance 1d service="db"', STRANGE_CHAT, MALLORY), 6)
    assert stranger.startswith("Not allowed: this chat (id -100999) is not in TELEGRAM_CHAT_ID")
    async with env.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM maintenance_windows") == 1


async def test_resolve_keeps_the_note_as_typed(env: Env) -> None:
    incident_id = await open_incident(env.db, "note")
    text = await env.reply(message_update(f"/resolve {incident_id} disk  cleaned <up> & done", TRUSTED_CHAT, BOB))
    assert await people_did(env.db, incident_id) == [("resolved", "@bob_tg", TG)]
    assert await note_texts(env.db, incident_id) == ["disk  cleaned <up> & done"]
    assert text.startswith(f"Resolved #{incident_id} ")


async def test_incidents_and_oncall(env: Env) -> None:
    first, second = await open_incident(env.db, "one"), await open_incident(env.db, "two")
    listing = await env.reply(message_update("/incidents", TRUSTED_CHAT, BOB))
    assert "Open incidents (2)" in listing and f"#{first}" in listing and f"#{second}" in listing
    assert env.api.calls_to("sendMessage")[0].params["parse_mode"] == "HTML"
    oncall = await env.reply(message_update("/oncall", TRUSTED_CHAT, BOB), number=2)
    assert oncall == "No on-call schedules are configured."


@pytest.mark.parametrize("command", ["/help", "/start"])
async def test_help_shows_the_ids_an_admin_needs(env: Env, command: str) -> None:
    text = await env.reply(message_update(command, STRANGE_CHAT, MALLORY))  # no authorization needed
    assert "/resolve ID [note]" in text and f"<code>{STRANGE_CHAT}</code>" in text and "<code>666666</code>" in text


@pytest.mark.parametrize(("command", "told"), [
    ("/ack", "Usage: /ack ID"), ("/ack x", "'x' is not an incident number"), ("/resolve", "Usage: /resolve ID"),
    ("/resolve abc note", "'abc' is not an incident number"),
])
async def test_usage_is_explained(env: Env, command: str, told: str) -> None:
    assert (await env.reply(message_update(command, TRUSTED_CHAT, ALICE))).startswith(told)


async def test_store_errors_are_told_plainly(env: Env) -> None:
    assert await env.reply(message_update("/ack 404", TRUSTED_CHAT, ALICE)) == "Incident #404 does not exist."
    incident_id = await open_incident(env.db, "twice")
    await env.reply(message_update(f"/resolve {incident_id}", TRUSTED_CHAT, ALICE), number=2)
    text = await env.reply(message_update(f"/resolve {incident_id}", TRUSTED_CHAT, ALICE), number=3)
    assert text.startswith(f"Cannot resolve #{incident_id}: #{incident_id} was already resolved by alice at ")


@pytest.mark.parametrize("command", ["/ack {id}", "/resolve {id} fixed", "/incidents", "/oncall"])
async def test_unknown_user_in_unknown_chat_is_refused(env: Env, command: str) -> None:
    incident_id = await open_incident(env.db, "stranger")
    text = await env.reply(message_update(command.format(id=incident_id), STRANGE_CHAT, BOB))
    assert text.startswith("Not allowed:") and str(STRANGE_CHAT) in text and "222222" in text
    assert "Nothing was changed." in text
    assert await people_did(env.db, incident_id) == []


async def test_buttons_reach_the_store_and_are_answered(env: Env) -> None:
    incident_id = await open_incident(env.db, "buttons")
    assert (await env.press(f"ack:{incident_id}")).startswith(f"Acknowledged #{incident_id} ")
    assert (await env.press(f"silence:{incident_id}", number=2)).endswith(" for 1h ✔️")
    assert (await env.press(f"resolve:{incident_id}", user=BOB, number=3)).startswith(f"Resolved #{incident_id} ")
    assert await wait_for_people(env.db, incident_id, 3) == [
        ("acknowledged", "alice", TG), ("silenced", "alice", TG), ("resolved", "@bob_tg", TG)
    ]


async def test_button_errors_are_answered_too(env: Env) -> None:
    incident_id = await open_incident(env.db, "late")
    await env.press(f"resolve:{incident_id}")
    text = await env.press(f"ack:{incident_id}", number=2)
    assert text.startswith(f"Cannot acknowledge #{incident_id}: #{incident_id} was already resolved by ")
    assert await env.press(f"explode:{incident_id}", number=3) == (
        "This button is not understood (an old message?); nothing was done."
    )
    assert await people_did(env.db, incident_id) == [("resolved", "alice", TG)]


async def test_button_from_an_unknown_user_in_an_unknown_chat_is_refused(env: Env) -> None:
    incident_id = await open_incident(env.db, "mallory")
    text = await env.press(f"ack:{incident_id}", user=MALLORY, chat=STRANGE_CHAT)
    assert text.startswith("Not allowed:") and "666666" in text
    assert env.api.calls_to("answerCallbackQuery")[0].params["show_alert"] is True
    assert await people_did(env.db, incident_id) == []


async def test_a_database_away_is_told_and_still_answers(env: Env) -> None:
    await env.db.close()
    text = await env.press("ack:42")
    assert text == "Could not acknowledge: Tocsin's database is unavailable right now. Try again in a minute."
    reply = await env.reply(message_update("/ack 42", TRUSTED_CHAT, ALICE))
    assert reply.startswith("Could not acknowledge: Tocsin's database is unavailable")


async def test_start_keeps_trying_while_the_bot_api_fails() -> None:
    api = await FakeTelegramApi().start()
    api.fail_next(2, status=500)  # getMe fails twice
    bot = make_bot(telegram_settings(api.url, webhook=True), core_on(None))
    bot.retry_interval = 0.05
    try:
        await bot.start()  # does not raise: Telegram being down must not stop Tocsin
        await api.wait_for("setWebhook")
        assert len(api.calls_to("getMe")) == 3 and bot.application.running
    finally:
        await bot.stop()
        await api.stop()
