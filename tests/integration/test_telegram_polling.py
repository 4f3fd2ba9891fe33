"""Polling mode: updates from getUpdates reach the handlers; one poller across replicas (advisory lock)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg

from store.db import Database
from store.sql import locks
from tests.support.chat_core import core_on, wait_for_people
from tests.support.incidents import open_incident
from tests.support.telegram_api import FakeTelegramApi, callback_update, message_update, user_json
from tests.support.telegram_bot import ALICE_TG, TRUSTED_CHAT, make_bot, telegram_settings

FAST = {"retry_interval": 0.1, "check_interval": 0.1, "poll_timeout": 1}
TOKEN_B = "987654321:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


async def until(condition: Callable[[], bool | Awaitable[bool]], what: str, within: float = 30) -> None:
    """Wait until the condition holds; AssertionError naming it after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


async def test_polling_serves_queued_updates(api: FakeTelegramApi, database_url: str, db: Database) -> None:
    incident_id = await open_incident(db, "polled")
    bot = make_bot(telegram_settings(api.url, webhook=False), core_on(db), database_url, **FAST)
    await bot.start()
    try:
        assert api.calls_to("setWebhook") == []
        api.queue_update(message_update(f"/ack {incident_id}", TRUSTED_CHAT, user_json(ALICE_TG)))
        api.queue_update(callback_update(f"resolve:{incident_id}", TRUSTED_CHAT, user_json(ALICE_TG), query_id="q1"))
        reply = (await api.wait_for("sendMessage"))[0].params["text"]
        answer = (await api.wait_for("answerCallbackQuery"))[0].params
        assert reply.startswith(f"Acknowledged #{incident_id} ") and reply.endswith(" ✔️")
        assert answer["text"].startswith(f"Resolved #{incident_id} ")
        assert await wait_for_people(db, incident_id, 2) == [("acknowledged", "alice", "telegram"),
                                                             ("resolved", "alice", "telegram")]
        assert api.calls_to("deleteWebhook")  # polling clears a webhook left from webhook mode
        confirmed = lambda: any((c.params.get("offset") or 0) >= 3 for c in api.calls_to("getUpdates"))  # noqa: E731
        await until(confirmed, "both updates are confirmed by a later getUpdates offset")
    finally:
        await bot.stop()


def polls(api: FakeTelegramApi, token: str) -> int:
    return sum(1 for c in api.calls_to("getUpdates") if c.token == token)


async def test_only_the_lock_holder_polls_and_another_takes_over(api: FakeTelegramApi, database_url: str) -> None:
    first = make_bot(telegram_settings(api.url, webhook=False), core_on(None), database_url, **FAST)
    api.tokens.add(TOKEN_B)
    second = make_bot(telegram_settings(api.url, webhook=False, token=TOKEN_B), core_on(None), database_url,
                      **FAST)
    a, b = first.settings.bot_token, TOKEN_B
    await first.start()
    try:
        await until(lambda: polls(api, a) > 0, "the first replica polls")
        await second.start()
        assert second.poller is not None and first.poller is not None
        await until(lambda: second.poller.attempts >= 5, "the second replica tried the lock several times")
        assert polls(api, b) == 0 and not second.poller.polling and first.poller.polling
        await first.stop()  # its connection closes: the lock is free
        await until(lambda: polls(api, b) > 0, "the second replica polls")
        assert second.poller.polling
    finally:
        await first.stop()
        await second.stop()


async def test_losing_the_database_session_stops_polling(api: FakeTelegramApi, database_url: str) -> None:
    first = make_bot(telegram_settings(api.url, webhook=False), core_on(None), database_url, **FAST)
    api.tokens.add(TOKEN_B)
    second = make_bot(telegram_settings(api.url, webhook=False, token=TOKEN_B), core_on(None), database_url,
                      **FAST)
    await first.start()
    try:
        assert first.poller is not None and second.poller is not None
        await until(lambda: first.poller.polling, "the first replica polls")
        await second.start()
        await until(lambda: second.poller.attempts >= 2, "the second replica tried the lock")
        admin = await asyncpg.connect(database_url)
        try:
            high, low = locks.TELEGRAM_POLLER >> 32, locks.TELEGRAM_POLLER & 0xFFFFFFFF
            terminated = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                "WHERE locktype = 'advisory' AND classid = $1::bigint::oid AND objid = $2::bigint::oid",
                high, low,
            )
        finally:
            await admin.close()
        assert terminated == 1
        # Either replica may win the free lock; the first must notice its loss either way.
        await until(lambda: second.poller.polling or first.poller.turns >= 2, "a replica polls again")
        await until(lambda: first.poller.polling != second.poller.polling, "exactly one replica polls")
    finally:
        await first.stop()
        await second.stop()


async def test_lock_functions(db: Database) -> None:
    async with db.connection() as one, db.connection() as two:
        assert await locks.try_lock(one, 12345) and await locks.holds(one, 12345)
        assert not await locks.try_lock(two, 12345) and not await locks.holds(two, 12345)
        assert await locks.unlock(one, 12345) and not await locks.holds(one, 12345)
        assert await locks.try_lock(two, 12345)
        assert await locks.unlock(two, 12345)
        assert await locks.try_lock(one, locks.TELEGRAM_POLLER) and await locks.holds(one, locks.TELEGRAM_POLLER)
        assert await locks.unlock(one, locks.TELEGRAM_POLLER)
