"""Roles in chat, decided once in the chat core for every chat: config users act with their role, strangers only
read unless `chat_strangers: act`; overrides from chat (`override @alice 2h`), refused when they overlap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from quart import Quart

from bot.commands import parse_command, run
from bot.slack.handlers import Listeners, SlackPeople
from bot.slack.settings import SlackSettings
from bot.telegram.webhook import create_blueprint
from store.db import Database
from store.domain.config_schema import parse_config
from store.domain.incident import ActionSource, Status
from store.domain.oncall_view import oncall_rows
from store.domain.overrides import with_overrides
from store.overrides import live_overrides
from store.sql import incidents as incidents_sql
from tests.integration.test_telegram_webhook import ALICE, BOB, Env
from tests.support.chat_core import NOW, core_on, people_did
from tests.support.incidents import open_incident
from tests.support.telegram_api import FakeTelegramApi, message_update
from tests.support.telegram_bot import ALICE_TG, SECRET, TRUSTED_CHAT, make_bot, telegram_settings

SLACK = ActionSource.SLACK
CONFIG = parse_config({
    "users": [
        {"id": "alice", "name": "Alice", "slack_id": "U01ALICE"},
        {"id": "bob", "name": "Bob", "slack_id": "U01BOB"},
        {"id": "vic", "name": "Vic Viewer", "role": "viewer"},
        {"id": "adam", "name": "Adam Admin", "role": "admin", "slack_id": "U01ADAM"},
    ],
    "schedules": [{"id": "primary", "timezone": "Europe/Berlin", "layers": [
        {"participants": ["alice", "bob"], "rotation": "weekly", "start": "2026-11-23"}]}],
})


async def status_of(db: Database, incident_id: int) -> Status:
    async with db.connection() as conn:
        incident = await incidents_sql.get(conn, incident_id)
    assert incident is not None
    return incident.status


async def test_a_stranger_may_only_read_by_default_and_nothing_changes(db: Database) -> None:
    actions = core_on(db, config=CONFIG)
    incident_id = await open_incident(db, "strangers")
    for attempt in (actions.acknowledge(incident_id, "mallory", SLACK),
                    actions.press("resolve", incident_id, "mallory", SLACK),
                    actions.note(incident_id, "mallory", SLACK, "hi"),
                    actions.open("fake", "mallory", SLACK)):
        refused = await attempt
        assert not refused.ok
        assert refused.text == ("Not allowed: mallory is not a user of Tocsin's config, and the config lets only its "
                                "users act (chat_strangers: read); nothing was changed.")
    assert await status_of(db, incident_id) is Status.TRIGGERED
    assert await people_did(db, incident_id) == []
    assert (await actions.list_open()).ok and (await actions.oncall()).ok  # reading is fine


async def test_strangers_act_when_the_config_says_so(db: Database) -> None:
    actions = core_on(db, config=replace(CONFIG, chat_strangers="act"))
    incident_id = await open_incident(db, "open-door")
    assert (await actions.acknowledge(incident_id, "mallory", SLACK)).ok
    assert await people_did(db, incident_id) == [("acknowledged", "mallory", "slack")]


async def test_config_users_act_with_their_role(db: Database) -> None:
    actions = core_on(db, config=CONFIG)
    incident_id = await open_incident(db, "roles")
    viewer = await actions.acknowledge(incident_id, "vic", SLACK)
    assert viewer.text == ("Not allowed: Vic Viewer has role viewer in Tocsin's config, and this needs responder; "
                           "nothing was changed.")
    assert (await actions.acknowledge(incident_id, "alice", SLACK)).ok


async def test_overrides_from_chat_own_others_and_overlaps(db: Database) -> None:
    actions = core_on(db, config=CONFIG)
    asked = datetime.now(UTC)
    mine = await actions.override("me", "2h", None, "alice", SLACK)
    assert mine.ok, mine.text
    assert mine.text.startswith("Override 1: Alice is on call in primary until ")
    others = await actions.override("@bob", "1h", None, "alice", SLACK)
    assert others.text == ("Alice has role responder and may change only their own overrides; an admin may change "
                           "bob's.")
    clash = await actions.override("<@U01BOB|bob>", "1h", "primary", "adam", SLACK)
    assert not clash.ok
    assert clash.text == (
        "The new override (bob from 2026-11-26T12:00:00Z until 2026-11-26T13:00:00Z) overlaps override 1 (alice from "
        "2026-11-26T12:00:00Z until 2026-11-26T14:00:00Z) in schedule primary; delete that one first or pick "
        "other times.")
    assert (await actions.override("@nobody", "1h", None, "adam", SLACK)).text == (
        "'@nobody' is not a user of Tocsin's config (use their config id, such as @alice).")
    assert (await actions.override("@bob", "1h", "nosuch", "adam", SLACK)).text == (
        "There is no schedule 'nosuch'; expected one of: primary.")
    merged = with_overrides(CONFIG, await live_overrides(db, NOW - timedelta(days=1)))
    assert oncall_rows(merged, NOW)[0]["user"] == "alice"  # bob's week, alice's override
    async with db.connection() as conn:
        trail = await conn.fetch("SELECT actor, source, action, subject, created_at FROM audit_log")
    assert [tuple(r)[:4] for r in trail] == [("alice", "slack", "override.add", "schedule:primary/override:1")]
    assert asked <= trail[0]["created_at"] <= datetime.now(UTC)  # when it was done, by the wall clock


async def test_the_slash_command_grammar_reaches_the_override(db: Database) -> None:
    actions = core_on(db, config=CONFIG)
    command = parse_command("override <@U01BOB|bob> 90m primary")
    assert (command.name, command.user, command.duration, command.schedule) == (
        "override", "<@U01BOB|bob>", "90m", "primary")
    reply = await run(actions, command, "adam", SLACK)
    assert reply.ok and reply.text.startswith("Override 1: Bob is on call in primary until ")
    listeners = Listeners(actions, SlackPeople(CONFIG.users), SlackSettings(bot_token="xoxb-1"))
    text = await listeners.run_command({"text": "override @alice 2h", "user_id": "U01ADAM", "user_name": "adam"})
    assert "overlaps override 1 (bob from" in text
    stranger = await listeners.run_command({"text": "ack 1", "user_id": "U0STRANGE", "user_name": "eve"})
    assert "Not allowed: eve is not a user of Tocsin's config" in stranger


async def test_telegram_override_and_a_stranger_refused_through_the_bot(db: Database) -> None:
    config = replace(CONFIG, users=tuple(replace(u, telegram_id=ALICE_TG) if u.id == "alice" else u
                                         for u in CONFIG.users))
    api = await FakeTelegramApi().start()
    bot = make_bot(telegram_settings(api.url, webhook=True), core_on(db, config=config))
    await bot.start()
    quart = Quart(__name__)
    quart.register_blueprint(create_blueprint(bot.application, SECRET))
    env = Env(api, db, bot, quart)
    try:
        made = await env.reply(message_update("/override me 2h", TRUSTED_CHAT, ALICE))
        assert made.startswith("Override 1: Alice is on call in primary until ") and made.endswith(" ✔️")
        usage = await env.reply(message_update("/override", TRUSTED_CHAT, ALICE), number=2)
        assert usage == "Who, and for how long? Usage: /override @USER DURATION [SCHEDULE], such as @alice 2h"
        incident_id = await open_incident(db, "telegram-stranger")
        refused = await env.reply(message_update(f"/ack {incident_id}", TRUSTED_CHAT, BOB), number=3)
        assert refused.startswith("Not allowed: @bob_tg is not a user of Tocsin's config")
        assert await status_of(db, incident_id) is Status.TRIGGERED
    finally:
        await bot.stop()
        await api.stop()
