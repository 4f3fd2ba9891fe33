"""The intake: concurrent webhooks share transactions, and none waits for a transaction past WEBHOOK_MAX_WAIT."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator

import asyncpg
import pytest
from quart import Quart

from store.db import Database, create_database
from store.domain.routing import RouteTable
from store.intake import Intake, IntakeSettings, Overloaded
from store.runtime import utc_now
from store.settings import DatabaseSettings
from tests.support.webhook_load import group_body
from web.app import create_app
from web.settings import load_settings
from webhook.alertmanager import parse_webhook

URL = "/api/v1/webhooks/alertmanager"


async def counts(db: Database) -> tuple[int, int]:
    async with db.connection() as conn:
        return await conn.fetchval("SELECT count(*) FROM incidents"), await conn.fetchval("SELECT count(*) FROM alerts")


@pytest.fixture
async def intake(db: Database) -> AsyncIterator[Intake]:
    queue = Intake(db, RouteTable, utc_now, IntakeSettings(max_wait=5, workers=1))
    queue.start()
    yield queue
    await queue.stop(grace=5)


async def test_concurrent_webhooks_share_transactions_and_all_are_stored(db: Database, intake: Intake) -> None:
    bodies = [group_body("Disk", range(n, n + 1)) for n in range(60)]
    bodies += [group_body(f"G{n}", range(2)) for n in range(20)]
    results = await asyncio.gather(*(intake.submit(parse_webhook(b)) for b in bodies))
    assert await counts(db) == (21, 100)
    disk = {r.incident_ids[0] for r in results[:60]}
    assert len(disk) == 1 and all(r.alerts_stored == 1 for r in results[:60])
    assert all(len(r.incident_ids) == 1 and r.alerts_stored == 2 for r in results[60:])
    assert intake.batches == 80 and intake.transactions < 80  # one transaction took several webhooks


async def test_the_same_body_twice_at_once_is_stored_once(db: Database, intake: Intake) -> None:
    body = group_body("Pair", range(50))
    first, second = await asyncio.gather(intake.submit(parse_webhook(body)), intake.submit(parse_webhook(body)))
    assert first.incident_ids == second.incident_ids
    assert await counts(db) == (1, 50)
    async with db.connection() as conn:
        firing = await conn.fetchval("SELECT count(*) FROM incident_events WHERE kind = 'alert_firing'")
    assert firing == 50


async def test_a_batch_disagreeing_with_one_taken_waits_for_the_next_transaction(db: Database, intake: Intake) -> None:
    firing = group_body("Flip", range(1))
    resolved = copy.deepcopy(firing)
    resolved["alerts"][0].update(status="resolved", endsAt="2026-11-26T19:30:00Z")
    await asyncio.gather(intake.submit(parse_webhook(firing)), intake.submit(parse_webhook(resolved)))
    async with db.connection() as conn:
        incident = await conn.fetchrow("SELECT status FROM incidents")
        kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM incident_events ORDER BY id")]
    assert incident["status"] == "resolved"  # as if one came after the other: opened, then resolved
    assert kinds == ["opened", "alert_firing", "alert_resolved", "resolved"]


async def _hold_incident(db: Database) -> asyncpg.Connection:
    """A connection holding the first incident's row lock (as a long transaction would)."""
    conn = await asyncpg.connect(db.dsn)
    await conn.execute("BEGIN")
    await conn.execute("SELECT * FROM incidents ORDER BY id LIMIT 1 FOR NO KEY UPDATE")  # as an ack does
    return conn


async def test_a_webhook_not_taken_within_max_wait_is_refused_and_nothing_of_it_stored(db: Database) -> None:
    slow = await create_database(db.dsn, DatabaseSettings(url=db.dsn, max_open_conns=1),
                                 {"lock_timeout": "2000", "statement_timeout": "3000"})
    queue = Intake(slow, RouteTable, utc_now, IntakeSettings(max_wait=0.5, workers=1))
    queue.start()
    try:
        await queue.submit(parse_webhook(group_body("Held", range(1))))
        holder = await _hold_incident(db)
        stuck = asyncio.create_task(queue.submit(parse_webhook(group_body("Held", range(1, 2)))))
        await asyncio.sleep(0.2)  # the worker took it and waits for the lock
        with pytest.raises(Overloaded, match="within 0.5 s"):
            await queue.submit(parse_webhook(group_body("Other", range(1))))
        with pytest.raises(asyncpg.LockNotAvailableError):
            await stuck  # its statement gave up waiting for the lock: rolled back
        await holder.close()
        assert await counts(db) == (1, 1)
        assert queue.overloaded == 1
    finally:
        await queue.stop(grace=5)
        await slow.close()


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Quart]:
    settings = load_settings({"DATABASE_URL": database_url, "WEBHOOK_MAX_WAIT": "1s"})
    application = create_app(settings, database_url)
    async with application.test_app():
        yield application


async def test_over_http_a_webhook_held_past_max_wait_gets_503_with_retry_after(app: Quart) -> None:
    client = app.test_client()
    assert (await client.post(URL, json=group_body("Busy", range(1)))).status_code == 200
    runtime = app.extensions["tocsin"]
    holder = await _hold_incident(runtime.db)
    try:
        answers = await asyncio.gather(*(client.post(URL, json=group_body("Busy", range(n, n + 1))) for n in (1, 2, 3)))
    finally:
        await holder.close()
    assert {a.status_code for a in answers} == {503}
    for answer in answers:
        assert answer.headers["Retry-After"] == "1"
        error = (await answer.get_json())["error"]
        assert error["code"] == "overloaded" and "nothing was stored" in error["message"]
    assert await counts(runtime.db) == (1, 1)
    again = await client.post(URL, json=group_body("Busy", range(1, 4)))  # Alertmanager's retry, later
    assert again.status_code == 200 and await counts(runtime.db) == (1, 4)


async def test_webhooks_past_the_admitted_number_wait_outside_and_are_refused_past_max_wait(db: Database) -> None:
    queue = Intake(db, RouteTable, utc_now, IntakeSettings(max_wait=0.5, workers=1, admitted=1))
    queue.start()
    try:
        async with queue.admitted():
            with pytest.raises(Overloaded, match="within 0.5 s"):
                async with queue.admitted():
                    raise AssertionError("a second webhook was let in while the only slot was taken")
        async with queue.admitted() as deadline:  # the slot is free again
            result = await queue.submit(parse_webhook(group_body("Later", range(1))), deadline)
        assert result.alerts_stored == 1 and queue.overloaded == 1
    finally:
        await queue.stop(grace=5)
