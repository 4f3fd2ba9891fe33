"""SLA breaches, post-mortem links, response templates and checklists in chat: the actions over the real store,
the Slack and Telegram commands, a breach reply under the Telegram message, the checklist in every message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from telegram import Bot

from bot.commands import CommandError, parse_command
from bot.email.render import render_email
from bot.slack.handlers import Listeners, SlackPeople
from bot.slack.render import incident_blocks, thread_line
from bot.slack.settings import SlackSettings
from bot.telegram.client import TelegramChannel
from bot.telegram.render import render_incident
from bot.telegram.settings import ChatTarget, TelegramSettings
from store import deliveries, lifecycle, sla
from store.db import Database
from store.domain.config_schema import parse_config
from store.domain.incident import ActionSource
from store.sql import events as events_sql
from tests.support.chat_core import core_on
from tests.support.incidents import open_incident
from tests.support.telegram_api import FakeTelegramApi

CONFIG = parse_config({
    "chat_strangers": "act",  # the chat members here are no config users
    "templates": [{"id": "db-failover", "title": "Database failover", "severity": "critical",
                   "checklist": ["Freeze deploys", "Promote the replica"], "route": "db"}],
    "routes": [{"id": "db", "match": ['team="db"'], "slack_channel": "C0DB", "sla": {"ack": "5m"}}],
})
PUBLIC = "https://tocsin.example"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def listeners(db: Database) -> Listeners:
    settings = SlackSettings(bot_token="xoxb-1", signing_secret="s", public_url=PUBLIC)
    return Listeners(core_on(db, config=CONFIG), SlackPeople([]), settings)


def command(text: str) -> dict[str, Any]:
    return {"text": text, "user_id": "U1", "user_name": "dana"}


async def test_slack_opens_from_a_template_checks_a_step_and_links_the_post_mortem(db: Database) -> None:
    slack = listeners(db)
    opened = await slack.run_command(command("new --template db-failover Primary is gone"))
    assert opened.startswith(":rotating_light: Opened <https://tocsin.example/incidents/")
    incident_id = int(opened.split("/incidents/", 1)[1].split("|", 1)[0])
    checked = await slack.run_command(command(f"check {incident_id} 2"))
    assert checked == f"#{incident_id} step 2 done: Promote the replica"
    missing = await slack.run_command(command(f"check {incident_id} 7"))
    assert missing == f":warning: Index 7: incident #{incident_id} has 2 checklist steps."
    still_open = await slack.run_command(command(f"postmortem {incident_id}"))
    assert still_open.startswith(f":warning: Incident #{incident_id} is triggered: a post-mortem is written once")
    await lifecycle.resolve(db, incident_id, "dana", ActionSource.SLACK)
    link = await slack.run_command(command(f"postmortem {incident_id}"))
    assert link == f"Post-mortem of #{incident_id}: {PUBLIC}/incidents/{incident_id}/postmortem"
    unknown = await slack.run_command(command("new --template nope"))
    assert unknown.startswith(":warning: Template: 'nope': unknown template; expected one of: db-failover")
    async with db.connection() as conn:
        timeline = await events_sql.list_for_incident(conn, incident_id)
    assert [(e.kind, e.actor, e.source) for e in timeline][:3] == [
        ("opened", "dana", "slack"), ("template_applied", "dana", "slack"), ("checklist", "dana", "slack")]


def test_the_slack_grammar_of_the_new_subcommands() -> None:
    assert parse_command("new --template db-failover").template == "db-failover"
    assert parse_command("new --template db-failover Primary down").text == "Primary down"
    assert (parse_command("check 42 3").incident_id, parse_command("check 42 3").step) == (42, 3)
    assert parse_command("uncheck #42 1").name == "uncheck"
    assert parse_command("postmortem 42").incident_id == 42
    for wrong in ("check 42", "check 42 x", "postmortem", "postmortem 4 2", "new --template"):
        with pytest.raises(CommandError):
            parse_command(wrong)


async def test_telegram_commands(db: Database) -> None:
    from bot.telegram.handlers import Authorizer, Handlers

    replies: list[str] = []

    class Message:
        def __init__(self, text: str) -> None:
            self.text = text

        async def reply_text(self, text: str, **_: Any) -> None:
            replies.append(text)

    def update(text: str) -> Any:
        return SimpleNamespace(effective_message=Message(text), effective_chat=SimpleNamespace(id=-1001),
                               effective_user=SimpleNamespace(id=5, username="erin", full_name="Erin"))

    handlers = Handlers(core_on(db, config=CONFIG), Authorizer(frozenset({-1001})), PUBLIC)
    none = SimpleNamespace(args=[])
    await handlers.command(update("/new --template db-failover"), none)
    assert replies[-1].startswith("Opened #") and replies[-1].endswith(" Database failover ✔️")
    incident_id = int(replies[-1].split()[1].lstrip("#"))
    await handlers.command(update(f"/check {incident_id} 1"), none)
    assert replies[-1] == f"#{incident_id} step 1 done: Freeze deploys ✔️"
    await handlers.command(update(f"/uncheck@tocsin_bot {incident_id} 1"), none)
    assert replies[-1] == f"#{incident_id} step 1 reopened: Freeze deploys ✔️"
    await handlers.command(update(f"/check {incident_id}"), none)
    assert replies[-1] == "Which step? Usage: /incident check ID STEP"
    await lifecycle.resolve(db, incident_id, "erin", ActionSource.TELEGRAM)
    await handlers.command(update(f"/incident postmortem {incident_id}"), none)
    assert replies[-1] == f"Post-mortem of #{incident_id}: {PUBLIC}/incidents/{incident_id}/postmortem ✔️"
    await handlers.command(update("/postmortem 999"), none)
    assert replies[-1] == "Incident #999 does not exist."


async def test_the_checklist_shows_in_slack_telegram_and_email(db: Database) -> None:
    actions = core_on(db, config=CONFIG)
    opened = (await actions.open_from_template("db-failover", None, "dana", ActionSource.SLACK)).incident
    assert opened is not None
    assert (await actions.check(opened.id, 1, True, "dana", ActionSource.SLACK)).ok
    delivery = SimpleNamespace(incident_id=opened.id)
    incident, events = await deliveries.load_for_send(db, delivery)  # type: ignore[arg-type]
    assert [(i.index, i.done) for i in incident.checklist] == [(1, True), (2, False)]
    slack = "\n".join(b["text"]["text"] for b in incident_blocks(incident, PUBLIC) if b.get("text", {}).get("type")
                      == "mrkdwn")
    assert f"*Checklist: 1 of 2 done (/incident check {opened.id} STEP)*" in slack
    assert "✅ 1. Freeze deploys — dana" in slack and "⬜ 2. Promote the replica" in slack
    telegram = render_incident(incident, public_url=PUBLIC, silence_enabled=False, recent_events=events).text
    assert f"<b>Checklist: 1 of 2 done (/incident check {opened.id} STEP)</b>" in telegram
    assert "✅ 1. Freeze deploys — dana" in telegram and "⬜ 2. Promote the replica" in telegram
    mail = render_email(incident, "opened", events, PUBLIC)
    assert "[x] 1. Freeze deploys (dana, " in mail.text and "[ ] 2. Promote the replica" in mail.text
    assert "&#x2705; Freeze deploys" in mail.html


async def test_a_breach_is_a_slack_thread_line_and_a_telegram_reply(db: Database, api: FakeTelegramApi) -> None:
    incident_id = await open_incident(db, "late", CONFIG.routes, labels={"team": "db"})
    await sla.record_breaches(db, CONFIG, datetime.now(UTC) + timedelta(minutes=6))
    incident, events = await deliveries.load_for_send(db, SimpleNamespace(incident_id=incident_id))  # type: ignore
    breach = events[-1]
    assert breach.kind == "sla_breached"
    assert thread_line(breach) == ":alarm_clock: SLA breached: not acknowledged within 5m"
    settings = TelegramSettings(TOKEN, chats=(ChatTarget(-1001),), api_url=api.url, public_url=PUBLIC)
    async with Bot(TOKEN, base_url=settings.base_url) as bot:
        channel = TelegramChannel(bot, settings)
        opened = await channel.send(SimpleNamespace(kind="open", target=None, external_ref=None), incident, events[:-1])
        updated = await channel.send(SimpleNamespace(kind="update", target=None, external_ref=opened.external_ref),
                                     incident, events)
    assert updated.ok
    reply = api.calls_to("sendMessage")[-1].params
    assert reply["text"] == "⏰ SLA breached: not acknowledged within 5m"
    replied_to = reply["reply_parameters"]  # what python-telegram-bot sends for reply_to_message_id
    replied_to = json.loads(replied_to) if isinstance(replied_to, str) else replied_to
    assert str(replied_to["message_id"]) == opened.external_ref.split(":")[1]
    assert "SLA breached" in api.calls_to("editMessageText")[-1].params["text"]


async def test_chat_refusals_are_told_in_words(db: Database) -> None:
    actions = core_on(db, config=CONFIG)
    assert (await actions.postmortem(424242, PUBLIC)).text == "Incident #424242 does not exist."
    assert (await actions.check(1, "x", True, "dana", ActionSource.SLACK)).text == (
        "'x' is not a checklist step number (such as 2).")


def test_discord_and_mattermost_show_the_checklist_too() -> None:
    from dataclasses import replace

    from bot.discord.render import incident_embed
    from bot.mattermost.render import attachment
    from store.domain.templates import ChecklistItem
    from tests.support.incident_values import make_incident

    done_at = datetime(2026, 11, 26, tzinfo=UTC)
    steps = (ChecklistItem(1, "Freeze deploys", done_at, "alice"), ChecklistItem(2, "Promote"))
    incident = replace(make_incident(), checklist=steps)
    embed = incident_embed(incident, [], PUBLIC)
    (field,) = [f for f in embed["fields"] if f["name"].startswith("Checklist: 1 of 2 done")]
    assert field["value"] == "✅ 1. Freeze deploys — alice\n⬜ 2. Promote"
    posted = attachment(incident, [], PUBLIC)
    (field,) = [f for f in posted["fields"] if f["title"].startswith("Checklist: 1 of 2 done")]
    assert field["value"] == "✅ 1. Freeze deploys — alice\n⬜ 2. Promote"
