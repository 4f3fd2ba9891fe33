"""TelegramChannel against the Bot API stand-in: open, forum topics, edits, flood control, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from telegram import Bot

from bot.telegram.client import TelegramChannel
from bot.telegram.settings import ChatTarget, TelegramSettings
from store.domain.incident import Status
from store.models import Event
from tests.support.telegram_api import FakeTelegramApi
from tests.support.telegram_incidents import T0, make_incident

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@dataclass
class Delivery:
    kind: str
    target: str | None = None
    external_ref: str | None = None


@pytest.fixture
async def channel(api: FakeTelegramApi) -> AsyncIterator[TelegramChannel]:
    settings = TelegramSettings(TOKEN, chats=(ChatTarget(-1001),), api_url=api.url, public_url="https://t.example",
                                alertmanager_url="http://am:9093")
    async with Bot(TOKEN, base_url=settings.base_url) as bot:
        yield TelegramChannel(bot, settings)


async def test_open_then_update_edits_the_same_message(api: FakeTelegramApi, channel: TelegramChannel) -> None:
    incident = make_incident(title="Disk < 3% & falling")
    opened = await channel.send(Delivery("open"), incident, [])
    assert opened.ok and opened.external_ref == "-1001:1" and opened.error is None
    sent = api.calls_to("sendMessage")[0].params
    assert sent["parse_mode"] == "HTML" and "Disk &lt; 3% &amp; falling" in sent["text"]
    assert [b["callback_data"] for b in sent["reply_markup"]["inline_keyboard"][0]] == ["ack:42", "resolve:42",
                                                                                        "silence:42"]
    acked = replace(incident, status=Status.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=T0)
    updated = await channel.send(Delivery("update", external_ref=opened.external_ref), acked, [])
    assert updated.ok and updated.external_ref == "-1001:1"
    message = api.messages[(-1001, 1)]
    assert "ACKNOWLEDGED" in message["text"] and "Acknowledged by alice" in message["text"]
    assert [b["callback_data"] for b in message["reply_markup"]["inline_keyboard"][0]] == ["resolve:42", "silence:42"]
    resolved = replace(acked, status=Status.RESOLVED, resolved_by="alice", resolved_at=T0)
    assert (await channel.send(Delivery("update", external_ref="-1001:1"), resolved, [])).ok
    assert "reply_markup" not in api.messages[(-1001, 1)]


async def test_reminders_lapses_and_reassignments_are_also_replies(api: FakeTelegramApi,
                                                                   channel: TelegramChannel) -> None:
    incident = make_incident()
    opened = await channel.send(Delivery("open"), incident, [])
    acked = replace(incident, status=Status.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=T0)
    plain = Event(1, 42, "acknowledged", "alice", "slack", "Acknowledged", {}, T0)
    assert (await channel.send(Delivery("update", external_ref=opened.external_ref), acked, [plain])).ok
    assert len(api.calls_to("sendMessage")) == 1  # an ordinary change only edits the message
    reminder = Event(2, 42, "reminder", "scheduler", "scheduler",
                     "Reminder: still acknowledged by Alice Example since 19:03 UTC", {}, T0 + timedelta(minutes=10))
    reminded = await channel.send(Delivery("update", external_ref=opened.external_ref), acked, [plain, reminder])
    assert reminded.ok and reminded.external_ref == opened.external_ref
    reply = api.calls_to("sendMessage")[1].params
    assert reply["chat_id"] == -1001 and reply["reply_parameters"]["message_id"] == 1
    assert reply["text"] == "#42: Reminder: still acknowledged by Alice Example since 19:03 UTC"
    api.fail_next(1, status=429, retry_after=7)  # the edit fails: no reply, the delivery is retried
    lapse = Event(3, 42, "ack_lapsed", "scheduler", "scheduler", "Acknowledgement lapsed", {}, T0)
    failed = await channel.send(Delivery("update", external_ref=opened.external_ref), incident, [lapse])
    assert not failed.ok and failed.retry_after == 7 and len(api.calls_to("sendMessage")) == 2


async def test_route_chat_and_forum_topic(api: FakeTelegramApi, channel: TelegramChannel) -> None:
    result = await channel.send(Delivery("open", target="-1002:77"), make_incident(), [])
    assert result.ok and result.external_ref == "-1002:1"
    params = api.calls_to("sendMessage")[0].params
    assert params["chat_id"] == -1002 and params["message_thread_id"] == 77


async def test_an_edit_that_changes_nothing_is_a_success(channel: TelegramChannel) -> None:
    opened = await channel.send(Delivery("open"), make_incident(), [])
    again = await channel.send(Delivery("update", external_ref=opened.external_ref), make_incident(), [])
    assert again.ok and again.external_ref == opened.external_ref


async def test_flood_control_gives_retry_after(api: FakeTelegramApi, channel: TelegramChannel) -> None:
    api.fail_next(1, status=429, retry_after=13)
    result = await channel.send(Delivery("open"), make_incident(), [])
    assert not result.ok and result.retry_after == 13 and "retry after 13s" in (result.error or "")
    assert (await channel.send(Delivery("open"), make_incident(), [])).ok


@pytest.mark.parametrize(
    ("delivery", "fragment"),
    [
        (Delivery("update", external_ref="-1001:99"), "Message to edit not found"),
        (Delivery("update", external_ref=None), "not 'chat_id:message_id'"),
        (Delivery("open", target="#ops"), "expected a numeric chat id"),
        (Delivery("bounce"), "unknown delivery kind 'bounce'"),
    ],
)
async def test_failures_say_why(channel: TelegramChannel, delivery: Delivery, fragment: str) -> None:
    result = await channel.send(delivery, make_incident(), [])
    assert not result.ok and result.retry_after is None and fragment in (result.error or "")


async def test_server_error_is_a_failure(api: FakeTelegramApi, channel: TelegramChannel) -> None:
    api.fail_next(1, status=500)
    result = await channel.send(Delivery("open"), make_incident(), [])
    assert not result.ok and result.retry_after is None and "Internal Server Error" in (result.error or "")


async def test_no_chat_anywhere(api: FakeTelegramApi, channel: TelegramChannel) -> None:
    lonely = TelegramChannel(channel.bot, replace(channel.settings, chats=()))
    result = await lonely.send(Delivery("open"), make_incident(), [])
    assert not result.ok and "TELEGRAM_CHAT_ID is unset" in (result.error or "")
    assert api.calls_to("sendMessage") == []
