"""The sweep job, the /metrics gauges and the LISTEN connection's recovery."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from bot.delivery import ChannelRegistry, DeliveryWorker
from scheduler import jobs
from store.db import Database
from store.domain.delivery import RetryPolicy
from store.events import EventListener
from store.sql.events import CHANNEL
from tests.support.incidents import ROUTES, open_incident


async def test_sweep_gives_up_overdue_messages_publishes_counts_and_wakes(db: Database) -> None:
    await open_incident(db, routes=ROUTES)
    async with db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET created_at = now() - interval '2 days' WHERE channel = 'email'")
    reported: list[dict] = []
    woken: list[bool] = []
    worker = DeliveryWorker(db, ChannelRegistry())
    await jobs.sweep_deliveries(db, RetryPolicy(give_up=86400), lambda: woken.append(True), reported.append)
    assert reported == [{"email": {"failed": 1}, "slack": {"pending": 1}, "telegram": {"pending": 1}}]
    assert woken == [True]
    worker.publish_counts(reported[0])
    assert REGISTRY.get_sample_value("tocsin_deliveries_failed", {"channel": "email"}) == 1
    assert REGISTRY.get_sample_value("tocsin_deliveries_pending", {"channel": "slack"}) == 1
    worker.publish_counts({})
    assert REGISTRY.get_sample_value("tocsin_deliveries_failed", {"channel": "email"}) == 0


async def test_listener_reconnects_after_its_connection_is_killed(db: Database) -> None:
    payloads: list[str] = []
    connects: list[bool] = []
    listener = EventListener(db.dsn, payloads.append, lambda: connects.append(True), retry_max=0.5)
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        async with db.connection() as conn:
            await conn.execute("SELECT pg_notify($1, 'one')", CHANNEL)
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        assert killed == 1
        for _ in range(200):  # bounded: until it is back
            if len(connects) >= 2 and listener.connected.is_set():
                break
            await asyncio.sleep(0.05)
        assert len(connects) >= 2
        async with db.connection() as conn:
            await conn.execute("SELECT pg_notify($1, 'two')", CHANNEL)
        for _ in range(100):
            if "two" in payloads:
                break
            await asyncio.sleep(0.05)
    finally:
        await listener.stop()
    assert payloads[0] == "one" and "two" in payloads
