"""Escalation against real PostgreSQL: each step once across three scheduler instances, stops, restarts, reopen."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from store import escalation
from store.db import Database, create_database
from store.domain.config_schema import Config
from store.ingest import ingest_batch
from store.settings import DatabaseSettings
from tests.conftest import load_sample
from tests.support.escalation import T0, Clock, make_config
from webhook.alertmanager import parse_webhook

SAMPLE = "05_firing_from_prometheus.json"


@asynccontextmanager
async def instances(url: str, count: int = 3) -> AsyncIterator[list[Database]]:
    """`count` scheduler instances: separate pools on one database."""
    pools = [await create_database(url, DatabaseSettings(url=url, max_open_conns=4)) for _ in range(count)]
    try:
        yield pools
    finally:
        for pool in pools:
            await pool.close()


async def open_incident(db: Database, config: Config, clock: Clock, body: dict | None = None) -> int:
    result = await ingest_batch(db, parse_webhook(body or load_sample(SAMPLE)), config.routes, clock)
    return result.incident_ids[0]


async def run_rounds(pools: list[Database], config: Config, clock: Clock, until: timedelta, tick: timedelta) -> None:
    """Every instance runs escalate_due at once, round after round, while the clock moves by `tick`."""
    end = clock.now + until
    while clock.now <= end:
        await asyncio.gather(*(escalation.escalate_due(p, config, clock.now) for p in pools))
        clock.now += tick


async def escalations(db: Database, incident_id: int) -> list[dict]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT message, data, actor, source FROM incident_events WHERE incident_id = $1 AND kind = 'escalated'"
            " ORDER BY id",
            incident_id,
        )
    return [dict(r) for r in rows]


def steps_of(events: list[dict]) -> list[tuple[int, int]]:
    return [(e["data"]["pass"], e["data"]["step"]) for e in events]


async def acknowledge(db: Database, incident_id: int, *, call_stop: bool = True) -> None:
    """What lifecycle.acknowledge does: lock the incident, change its status, stop its escalation."""
    async with db.transaction() as conn:
        await conn.execute("SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE", incident_id)
        await conn.execute("UPDATE incidents SET status = 'acknowledged' WHERE id = $1", incident_id)
        if call_stop:
            assert await escalation.stop(conn, incident_id)


async def test_three_instances_fire_each_step_once(database_url: str, db: Database) -> None:
    config, clock = make_config(), Clock()
    incident_id = await open_incident(db, config, clock)
    async with instances(database_url) as pools:
        await run_rounds(pools, config, clock, timedelta(hours=2), timedelta(seconds=30))
    events = await escalations(db, incident_id)
    assert steps_of(events) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert events[0]["message"] == "Escalated to step 1: notified Bob Example (on call for primary; Slack DM)"
    assert events[1]["message"] == "Escalated to step 2: notified Carol (Slack DM, email) and #C0LEADS"
    assert events[1]["data"]["targets"] == [
        {"kind": "user", "id": "carol", "name": "Carol", "email": "carol@example.com", "slack_id": "U01CAROL",
         "telegram_id": None},
        {"kind": "slack_channel", "id": "C0LEADS"},
    ]
    assert {(e["actor"], e["source"]) for e in events} == {("scheduler", "scheduler")}
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT * FROM incident_escalations WHERE incident_id = $1", incident_id)
    assert (row["state"], row["fired_count"], row["next_due_at"]) == ("done", 4, None)


async def test_steps_fire_at_their_due_times_not_before(db: Database) -> None:
    config, clock = make_config(), Clock()
    incident_id = await open_incident(db, config, clock)
    assert len(await escalation.escalate_due(db, config, T0)) == 1
    assert await escalation.escalate_due(db, config, T0 + timedelta(minutes=14, seconds=59)) == []
    assert len(await escalation.escalate_due(db, config, T0 + timedelta(minutes=15))) == 1
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 2)]


async def test_schedule_step_reaches_whoever_is_on_call_when_it_fires(db: Database) -> None:
    config, clock = make_config(), Clock(T0.replace(hour=7, minute=50))  # 08:50 Berlin: alice until 09:00
    incident_id = await open_incident(db, config, clock)
    await escalation.escalate_due(db, config, clock.now)
    await escalation.escalate_due(db, config, clock.now + timedelta(minutes=30))  # 09:20 Berlin: bob's turn
    targets = [e["data"]["targets"][0]["id"] for e in await escalations(db, incident_id)]
    assert targets == ["alice", "carol", "bob"]


async def test_acknowledged_between_steps_nothing_more(database_url: str, db: Database) -> None:
    config, clock = make_config(), Clock()
    incident_id = await open_incident(db, config, clock)
    async with instances(database_url) as pools:
        await run_rounds(pools, config, clock, timedelta(minutes=5), timedelta(minutes=1))
        await acknowledge(db, incident_id)
        await run_rounds(pools, config, clock, timedelta(hours=3), timedelta(minutes=1))
    assert steps_of(await escalations(db, incident_id)) == [(1, 1)]


async def test_status_alone_stops_escalation_without_stop_call(db: Database) -> None:
    config, clock = make_config(), Clock()
    incident_id = await open_incident(db, config, clock)
    await escalation.escalate_due(db, config, T0)
    await acknowledge(db, incident_id, call_stop=False)  # e.g. resolved by ingest's auto-resolve
    assert await escalation.escalate_due(db, config, T0 + timedelta(hours=1)) == []
    assert steps_of(await escalations(db, incident_id)) == [(1, 1)]
    async with db.connection() as conn:
        state = await conn.fetchval("SELECT state FROM incident_escalations WHERE incident_id = $1", incident_id)
    assert state == "stopped"


async def test_step_claimed_while_acknowledging_sends_nothing(db: Database) -> None:
    config, clock = make_config(), Clock()
    incident_id = await open_incident(db, config, clock)
    async with db.transaction() as ack:  # an acknowledgement in flight holds the incident row
        await ack.execute("SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE", incident_id)
        await ack.execute("UPDATE incidents SET status = 'acknowledged' WHERE id = $1", incident_id)
        assert await escalation.escalate_due(db, config, T0) == []  # skipped, not waited for
        await escalation.stop(ack, incident_id)
    assert await escalation.escalate_due(db, config, T0 + timedelta(hours=1)) == []
    assert await escalations(db, incident_id) == []


async def test_restart_mid_policy_continues_at_the_right_step(database_url: str, db: Database) -> None:
    config, clock = make_config(), Clock()
    incident_id = await open_incident(db, config, clock)
    async with instances(database_url) as pools:
        await run_rounds(pools, config, clock, timedelta(minutes=20), timedelta(minutes=1))
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 2)]
    async with instances(database_url) as restarted:  # new processes, nothing kept in memory
        await run_rounds(restarted, config, clock, timedelta(hours=2), timedelta(minutes=1))
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 2), (2, 1), (2, 2)]


async def test_down_for_a_while_fires_each_missed_step_once(db: Database) -> None:
    config = make_config()
    incident_id = await open_incident(db, config, Clock())
    fired = await escalation.escalate_due(db, config, T0 + timedelta(minutes=35))  # steps at 0, 15 and 30 m
    assert [(e.data["pass"], e.data["step"]) for e in fired] == [(1, 1), (1, 2), (2, 1)]
    assert await escalation.escalate_due(db, config, T0 + timedelta(minutes=35)) == []
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 2), (2, 1)]


async def test_reopen_resumes_escalation_without_paging_anew(db: Database) -> None:
    config, clock = make_config(), Clock()
    incident_id = await open_incident(db, config, clock)
    await escalation.escalate_due(db, config, clock.now)
    resolved = load_sample(SAMPLE)
    resolved["alerts"][0].update(status="resolved", endsAt="2026-11-26T19:06:30Z")
    clock.now += timedelta(minutes=3)
    await open_incident(db, config, clock, resolved)

    refire = copy.deepcopy(load_sample(SAMPLE))
    refire["alerts"][0]["startsAt"] = "2026-11-26T19:07:00Z"
    clock.now = T0 + timedelta(minutes=6)
    assert await open_incident(db, config, clock, refire) == incident_id  # reopened within 5m
    assert await escalation.escalate_due(db, config, clock.now) == []  # step 1 already paged: not again
    # Step 2 comes 15m after the reopening, as it was planned 15m after step 1 (not 15m after creation).
    assert await escalation.escalate_due(db, config, T0 + timedelta(minutes=20)) == []
    await escalation.escalate_due(db, config, T0 + timedelta(minutes=21))
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 2)]
    async with db.connection() as conn:
        message = await conn.fetchval("SELECT message FROM incident_events WHERE kind = 'reopened'")
    assert message == "Reopened without paging: an alert fired again within 5m of resolving"


async def test_route_without_policy_has_no_escalation(db: Database) -> None:
    config = make_config()
    plain = Config(users=config.users, schedules=config.schedules, policies=config.policies)
    incident_id = await open_incident(db, plain, Clock())
    assert await escalation.escalate_due(db, plain, T0 + timedelta(hours=1)) == []
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incident_escalations WHERE incident_id = $1", incident_id) == 0
