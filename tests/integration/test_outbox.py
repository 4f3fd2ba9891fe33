"""The delivery outbox on real PostgreSQL: what each change queues, coalescing, order, leases, retries."""

from __future__ import annotations

import asyncio

from store import deliveries
from store.db import Database
from store.domain.delivery import RetryPolicy
from store.domain.routing import Route, RouteTable
from store.sql import incidents as incidents_sql
from tests.support.incidents import EMAIL_ONLY, act, open_incident, rows

ALL = ["email", "slack", "telegram"]
POLICY = RetryPolicy(base=0.05, cap=0.2, give_up=3600)


async def claim(db: Database, channels: list[str] | None = None, lease: float = 30.0):
    return await deliveries.claim(db, channels or ALL, 50, lease)


async def send_all(db: Database, channels: list[str] | None = None) -> list:
    """Claim and mark sent until nothing is due (refs like 'ref-<id>'); returns what was sent."""
    sent = []
    for _ in range(20):
        batch = await claim(db, channels)
        if not batch:
            return sent
        for d in batch:
            assert await deliveries.mark_sent(db, d, f"ref-{d.id}")
        sent += batch
    raise AssertionError("deliveries kept coming")


async def test_an_opened_incident_queues_one_open_message_per_target(db: Database) -> None:
    routes = RouteTable(
        default=Route(
            id="default",
            slack_channel="C0OPS",
            telegram_chats=("-1001", "-1002"),
            email=("a@example.com", "b@example.com"),
        )
    )
    incident_id = await open_incident(db, routes=routes)
    async with db.connection() as conn:
        incident = await incidents_sql.get(conn, incident_id)
    assert incident.channels == {
        "email": ["a@example.com", "b@example.com"],
        "slack": "C0OPS",
        "telegram": ["-1001", "-1002"],
    }
    found = {(r["channel"], r["target"], r["kind"], r["state"], r["event_kind"]) for r in await rows(db)}
    assert found == {
        ("email", "a@example.com", "open", "pending", "opened"),
        ("email", "b@example.com", "open", "pending", "opened"),
        ("slack", "C0OPS", "open", "pending", "alert_firing"),  # chat: the open shows the latest state
        ("telegram", "-1001", "open", "pending", "alert_firing"),
        ("telegram", "-1002", "open", "pending", "alert_firing"),
    }


async def test_a_route_without_channels_falls_back_to_the_default_route(db: Database) -> None:
    routes = RouteTable(
        routes=(Route(id="r1", email=("team@example.com",)),),
        default=Route(id="default", slack_channel="C0DEF", email=("ops@example.com",)),
    )
    incident_id = await open_incident(db, routes=routes)
    async with db.connection() as conn:
        incident = await incidents_sql.get(conn, incident_id)
    assert incident.route_id == "r1"
    assert incident.channels == {"email": ["team@example.com"], "slack": "C0DEF"}


async def test_no_channels_no_messages(db: Database) -> None:
    await open_incident(db, routes=RouteTable())
    assert await rows(db) == []


async def test_a_burst_becomes_one_update_of_the_latest_state(db: Database) -> None:
    incident_id = await open_incident(db)
    await send_all(db)
    await act(db, incident_id, "note", message="looking")
    await act(db, incident_id, "acknowledged")
    await act(db, incident_id, "note", message="found it")
    await act(db, incident_id, "resolved")
    updates = [r for r in await rows(db) if r["kind"] == "update"]
    by_channel = {r["channel"]: r for r in updates}
    assert len(updates) == 3 and set(by_channel) == {"email", "slack", "telegram"}
    assert by_channel["email"]["event_kind"] == "resolved"  # email only hears of acknowledge and resolve
    assert by_channel["slack"]["event_kind"] == "resolved"
    assert by_channel["slack"]["first_event_id"] < by_channel["email"]["first_event_id"]  # the first note
    assert by_channel["email"]["first_event_id"] < by_channel["email"]["event_id"]


async def test_notes_and_alert_changes_reach_chat_but_not_email(db: Database) -> None:
    incident_id = await open_incident(db)
    await send_all(db)
    await act(db, incident_id, "note", message="a note")
    channels = sorted(r["channel"] for r in await rows(db) if r["kind"] == "update")
    assert channels == ["slack", "telegram"]


async def test_an_unsent_chat_open_absorbs_changes_but_email_keeps_its_own_mail(db: Database) -> None:
    incident_id = await open_incident(db)
    await act(db, incident_id, "acknowledged")
    found = await rows(db)
    assert [(r["channel"], r["kind"]) for r in found if r["channel"] != "email"] == [
        ("slack", "open"),
        ("telegram", "open"),
    ]
    assert all(r["event_kind"] == "acknowledged" for r in found if r["channel"] != "email")
    assert [(r["kind"], r["event_kind"]) for r in found if r["channel"] == "email"] == [
        ("open", "opened"),
        ("update", "acknowledged"),
    ]


async def test_an_update_waits_for_its_open_and_a_stream_sends_one_at_a_time(db: Database) -> None:
    incident_id = await open_incident(db, routes=EMAIL_ONLY)
    await act(db, incident_id, "acknowledged")
    first = await claim(db)
    assert [d.kind for d in first] == ["open"]
    assert await claim(db) == []  # the update waits: the open is in flight
    await act(db, incident_id, "resolved")  # coalesces into the waiting update
    assert await claim(db) == []
    assert await deliveries.mark_sent(db, first[0], "<open@example.com>")
    second = await claim(db)
    assert [(d.kind, d.event_kind, d.external_ref) for d in second] == [("update", "resolved", "<open@example.com>")]
    await act(db, incident_id, "note")  # email ignores notes
    await act(db, incident_id, "reopened")
    assert await claim(db) == []  # the previous update is still in flight
    await deliveries.mark_sent(db, second[0], "<update@example.com>")
    third = await claim(db)
    assert [(d.kind, d.event_kind) for d in third] == [("update", "reopened")]


async def test_a_dead_workers_claim_expires_and_its_late_result_is_ignored(db: Database) -> None:
    await open_incident(db, routes=EMAIL_ONLY)
    dead = await claim(db, lease=0.3)
    assert len(dead) == 1 and dead[0].attempts == 1
    assert await claim(db) == []
    await asyncio.sleep(0.4)
    taken = await claim(db)
    assert [(d.id, d.attempts) for d in taken] == [(dead[0].id, 2)]
    assert not await deliveries.mark_sent(db, dead[0], "<late@example.com>")  # the dead worker's token
    assert await deliveries.mark_retry(db, dead[0], "late", POLICY) == "lost"
    assert await deliveries.mark_sent(db, taken[0], "<new@example.com>")
    assert [(r["state"], r["external_ref"]) for r in await rows(db)] == [("sent", "<new@example.com>")]


async def test_retry_after_is_obeyed(db: Database) -> None:
    await open_incident(db, routes=EMAIL_ONLY)
    [d] = await claim(db)
    assert await deliveries.mark_retry(db, d, "429 slow down", POLICY, retry_after=0.6) == "pending"
    [row] = await rows(db)
    wait = (row["next_attempt_at"] - row["updated_at"]).total_seconds()
    assert 0.6 <= wait <= 0.67 and row["last_error"] == "429 slow down"
    assert await claim(db) == []
    assert 0 < await deliveries.seconds_until_due(db, ALL) <= 0.67
    await asyncio.sleep(0.7)
    assert [x.attempts for x in await claim(db)] == [2]


async def test_backoff_grows_with_attempts(db: Database) -> None:
    await open_incident(db, routes=EMAIL_ONLY)
    policy = RetryPolicy(base=10, cap=1000, give_up=3600)
    waits = []
    for _ in range(3):
        async with db.transaction() as conn:  # make it due again at once
            await conn.execute("UPDATE deliveries SET next_attempt_at = now()")
        [d] = await claim(db)
        await deliveries.mark_retry(db, d, "down", policy)
        [row] = await rows(db)
        waits.append((row["next_attempt_at"] - row["updated_at"]).total_seconds())
    assert 5 <= waits[0] <= 10 and 10 <= waits[1] <= 20 and 20 <= waits[2] <= 40


async def test_give_up_fails_the_open_and_its_waiting_updates_then_a_new_change_opens_again(db: Database) -> None:
    incident_id = await open_incident(db, routes=EMAIL_ONLY)
    await act(db, incident_id, "acknowledged")
    [d] = await claim(db)
    async with db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET created_at = now() - interval '2 hours'")
    assert await deliveries.mark_retry(db, d, "550 no such user", RetryPolicy(give_up=3600)) == "failed"
    assert [(r["kind"], r["state"]) for r in await rows(db)] == [("open", "failed"), ("update", "failed")]
    await act(db, incident_id, "resolved")
    assert [(r["kind"], r["state"], r["event_kind"]) for r in await rows(db)][-1] == ("open", "pending", "resolved")
    status = (await _status(db, incident_id))["email"]
    assert status["state"] == "pending" and status["targets"][0]["failed"] == 2


async def test_the_sweep_gives_up_overdue_messages(db: Database) -> None:
    await open_incident(db)
    async with db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET created_at = now() - interval '2 hours' WHERE channel = 'slack'")
    assert await deliveries.give_up_overdue(db, RetryPolicy(give_up=3600)) == 1
    assert await deliveries.counts(db) == {"email": {"pending": 1}, "slack": {"failed": 1}, "telegram": {"pending": 1}}


async def test_a_failed_update_merges_into_the_newer_waiting_one(db: Database) -> None:
    incident_id = await open_incident(db, routes=EMAIL_ONLY)
    await send_all(db)
    await act(db, incident_id, "acknowledged")
    [ack] = await claim(db)
    await act(db, incident_id, "resolved")  # a new waiting update while the first is in flight
    assert await deliveries.mark_retry(db, ack, "timeout", POLICY) == "pending"
    updates = [r for r in await rows(db) if r["kind"] == "update"]
    assert len(updates) == 1
    assert updates[0]["event_kind"] == "resolved" and updates[0]["first_event_id"] == ack.first_event_id
    assert updates[0]["attempts"] == 1 and updates[0]["last_error"] == "timeout"


async def test_concurrent_claimers_take_each_message_once(db: Database) -> None:
    for i in range(30):
        await open_incident(db, group=f"g{i}")
    claimed: list[int] = []

    async def claimer() -> None:
        for _ in range(200):
            batch = await deliveries.claim(db, ALL, 7, 30)
            if not batch and not await _unclaimed(db):
                return
            claimed.extend(d.id for d in batch)

    await asyncio.wait_for(asyncio.gather(*(claimer() for _ in range(4))), 60)
    assert len(claimed) == 90 and len(set(claimed)) == 90


async def test_status_of_an_incident_per_channel(db: Database) -> None:
    incident_id = await open_incident(db)
    batch = await claim(db, ["slack"])
    await deliveries.mark_sent(db, batch[0], "1700000000.000100")
    status = await _status(db, incident_id)
    assert {c: s["state"] for c, s in status.items()} == {"email": "pending", "slack": "sent", "telegram": "pending"}
    assert status["slack"]["targets"][0]["target"] == "C0OPS" and status["slack"]["targets"][0]["sent_at"]


async def _status(db: Database, incident_id: int) -> dict:
    async with db.connection() as conn:
        return (await deliveries.status_of(conn, [incident_id]))[incident_id]


async def _unclaimed(db: Database) -> int:
    async with db.connection() as conn:
        return await conn.fetchval("SELECT count(*) FROM deliveries WHERE state = 'pending'")
