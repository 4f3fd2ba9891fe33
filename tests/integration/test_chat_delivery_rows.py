"""Slack and Telegram channels take the outbox's own Delivery rows and return bot.delivery's SendResult."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telegram import Bot

from bot.delivery import SendResult
from bot.slack.client import SlackChannel, make_web_client
from bot.slack.settings import SlackSettings
from bot.telegram.client import TelegramChannel
from bot.telegram.settings import ChatTarget, TelegramSettings
from store.models import Delivery
from tests.support.slack_api import SlackApi
from tests.support.telegram_api import FakeTelegramApi
from tests.support.telegram_incidents import make_incident

SLACK_TOKEN = "xoxb-test-token"
TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def row(channel: str, target: str, kind: str = "open", external_ref: str | None = None) -> Delivery:
    """A claimed outbox row as bot/delivery.py hands it to a channel."""
    return Delivery(
        id=1, incident_id=7, channel=channel, target=target, kind=kind, state="sending", first_event_id=1,
        event_id=1, event_kind="escalated", attempts=1, next_attempt_at=NOW, claimed_until=NOW, claim_token=None,
        last_error=None, external_ref=external_ref, created_at=NOW, updated_at=NOW, sent_at=None,
    )


@pytest.fixture
async def slack() -> AsyncIterator[SlackApi]:
    api = await SlackApi(token=SLACK_TOKEN).start()
    yield api
    await api.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramApi]:
    api = await FakeTelegramApi().start()
    yield api
    await api.stop()


async def test_slack_page_to_a_user_id_opens_a_direct_message_and_a_channel_row_posts(slack: SlackApi) -> None:
    settings = SlackSettings(bot_token=SLACK_TOKEN, signing_secret="s", channel="C0DEFAULT", api_url=slack.api_url)
    channel = SlackChannel(make_web_client(settings), settings)
    paged = await channel.send(row("slack", "U0ALICE"), make_incident(), [])
    assert isinstance(paged, SendResult) and paged.ok, paged
    assert [c.args["users"] for c in slack.calls_to("conversations.open")] == ["U0ALICE"]
    assert paged.external_ref is not None and paged.external_ref.startswith("D0ALICE:")
    default = await channel.send(row("slack", ""), make_incident(), [])
    assert default.ok and default.external_ref is not None and default.external_ref.startswith("C0DEFAULT:")
    updated = await channel.send(row("slack", "", "update", default.external_ref), make_incident(), [])
    assert updated.ok and len(slack.calls_to("chat.update")) == 1


async def test_telegram_page_to_a_user_id_and_the_default_chat(telegram: FakeTelegramApi) -> None:
    settings = TelegramSettings(TG_TOKEN, chats=(ChatTarget(-1001),), api_url=telegram.url)
    async with Bot(TG_TOKEN, base_url=settings.base_url) as bot:
        channel = TelegramChannel(bot, settings)
        paged = await channel.send(row("telegram", "424242"), make_incident(), [])
        default = await channel.send(row("telegram", ""), make_incident(), [])
        edited = await channel.send(row("telegram", "", "update", default.external_ref), make_incident(), [])
    assert isinstance(paged, SendResult) and paged.ok, paged
    assert paged.external_ref is not None and paged.external_ref.startswith("424242:")
    assert default.external_ref is not None and default.external_ref.startswith("-1001:")
    assert edited.ok and len(telegram.calls_to("editMessageText")) == 1
