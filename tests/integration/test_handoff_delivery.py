"""Handoff announcements reach the schedule's Slack channel and Telegram chat through the outbox, once each,
through rate limits and outages, with three scheduler instances and two delivery workers on one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Bot

from bot.delivery import ChannelRegistry, DeliveryWorker
from bot.email.client import EmailChannel
from bot.slack.client import SlackChannel, make_web_client
from bot.slack.settings import SlackSettings
from bot.telegram.client import TelegramChannel
from bot.telegram.settings import TelegramSettings
from store import deliveries, escalation
from store.db import Database
from tests.integration.test_escalation import instances
from tests.integration.test_handoffs import HANDOFF
from tests.support.email_delivery import FAST, email_settings
from tests.support.escalation import make_config
from tests.support.slack_api import SlackApi
from tests.support.telegram_api import FakeTelegramApi
from tests.support.waiting import eventually

SLACK_TOKEN = "xoxb-handoff-token"
TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TEXT = "Handoff in primary: Alice Example is on call until Sat 28 Nov 09:00 CET"


@pytest.fixture
async def slack() -> AsyncIterator[SlackApi]:
    stand_in = await SlackApi(token=SLACK_TOKEN).start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def channels(slack: SlackApi, api: FakeTelegramApi) -> AsyncIterator[ChannelRegistry]:
    """The Slack and Telegram channels, on their stand-ins."""
    slack_settings = SlackSettings(bot_token=SLACK_TOKEN, signing_secret="s", api_url=slack.api_url)
    tg_settings = TelegramSettings(TG_TOKEN, api_url=api.url)
    async with Bot(TG_TOKEN, base_url=tg_settings.base_url) as bot:
        yield ChannelRegistry(
            [SlackChannel(make_web_client(slack_settings), slack_settings), TelegramChannel(bot, tg_settings)]
        )


async def announcement_rows(db: Database) -> list[tuple[str, str, str]]:
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT channel, target, state FROM deliveries WHERE kind = 'announce' ORDER BY id")
    return [(r["channel"], r["target"], r["state"]) for r in rows]


async def all_sent(db: Database, count: int) -> bool:
    rows = await announcement_rows(db)
    return len(rows) == count and all(state == "sent" for _, _, state in rows)


async def test_three_schedulers_two_workers_announce_once_per_channel(
    database_url: str, db: Database, slack: SlackApi, api: FakeTelegramApi, channels: ChannelRegistry
) -> None:
    config = make_config()
    async with instances(database_url) as pools:
        workers = [DeliveryWorker(pool, channels, FAST, name=f"w{i}") for i, pool in enumerate(pools[:2])]
        for worker in workers:
            await worker.start()
        try:
            now = HANDOFF + timedelta(seconds=1)
            while now < HANDOFF + timedelta(minutes=10):
                await asyncio.gather(*(escalation.announce_handoffs(p, config, now) for p in pools))
                now += timedelta(seconds=30)
            await eventually(lambda: all_sent(db, 2), what="both announcements sent")
        finally:
            for worker in workers:
                await worker.stop()
    posts = slack.calls_to("chat.postMessage")
    assert [(c.args["channel"], c.args["text"]) for c in posts] == [("C0OPS", TEXT)]
    sent = api.calls_to("sendMessage")
    assert [(c.params["chat_id"], c.params["text"]) for c in sent] == [(-1001, TEXT)]
    assert [(chat, m["text"]) for (chat, _), m in api.messages.items()] == [(-1001, TEXT)]
    assert "parse_mode" not in sent[0].params  # plain text: a user's name is never read as markup
    assert await announcement_rows(db) == [("slack", "C0OPS", "sent"), ("telegram", "-1001", "sent")]


async def test_rate_limited_and_failing_chats_still_get_it_once(
    db: Database, slack: SlackApi, api: FakeTelegramApi, channels: ChannelRegistry
) -> None:
    slack.fail_next(2, status=429, retry_after=0)
    api.fail_next(2, status=500)
    worker = DeliveryWorker(db, channels, FAST)
    await worker.start()
    try:
        assert len(await escalation.announce_handoffs(db, make_config(), HANDOFF)) == 1
        await eventually(lambda: all_sent(db, 2), what="announcements sent after the failures")
    finally:
        await worker.stop()
    assert [c.args["channel"] for c in slack.calls_to("chat.postMessage")] == ["C0OPS"]
    assert len(api.calls_to("sendMessage")) == 3  # two answered 500, then the one message stored
    assert [(chat, m["text"]) for (chat, _), m in api.messages.items()] == [(-1001, TEXT)]
    async with db.connection() as conn:
        attempts = await conn.fetch("SELECT channel, attempts FROM deliveries WHERE kind = 'announce' ORDER BY id")
    assert [(r["channel"], r["attempts"]) for r in attempts] == [("slack", 3), ("telegram", 3)]


async def test_queuing_an_announcement_again_changes_nothing(db: Database) -> None:
    (row,) = await escalation.announce_handoffs(db, make_config(), HANDOFF)
    async with db.transaction() as conn:
        await deliveries.enqueue_announcement(conn, row.id, [("slack", "C0OPS"), ("telegram", "-1001")])
    assert await announcement_rows(db) == [("slack", "C0OPS", "pending"), ("telegram", "-1001", "pending")]


async def test_a_channel_that_cannot_announce_fails_the_message_clearly(db: Database) -> None:
    await escalation.announce_handoffs(db, make_config(), HANDOFF)
    async with db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET channel = 'email' WHERE kind = 'announce' AND channel = 'slack'")

    async def refused() -> bool:
        async with db.connection() as conn:
            error = await conn.fetchval("SELECT last_error FROM deliveries WHERE channel = 'email'")
        return error == "the email channel cannot post announcements"

    worker = DeliveryWorker(db, ChannelRegistry([EmailChannel(email_settings(9))]), FAST)
    await worker.start()
    try:
        await eventually(refused, what="the refusal recorded")
    finally:
        await worker.stop()
