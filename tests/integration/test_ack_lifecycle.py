"""Acknowledgements that lapse and remind, and the actions around them, on real PostgreSQL with a hand-moved
clock: each lapse and reminder once across two schedulers, catch-up after a pause, restarts."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta

import pytest

from store import ack_actions, ack_timers, escalation, lifecycle
from store.db import Database
from store.domain.config_schema import Config, parse_config
from store.domain.incident import ActionSource, Status
from store.errors import Conflict, Invalid
from store.ingest import ingest_batch
from tests.conftest import load_sample
from tests.integration.test_escalation import escalations, instances, steps_of
from tests.support.escalation import CONFIG_DATA, T0, Clock
from webhook.alertmanager import parse_webhook

API = ActionSource.API


def config_with(**route: object) -> Config:
    data = copy.deepcopy(CONFIG_DATA)
    data["routes"][0].update(route)
    return parse_config(data)


async def open_incident(db: Database, config: Config, clock: Clock) -> int:
    body = load_sample("05_firing_from_prometheus.json")
    return (await ingest_batch(db, parse_webhook(body), config.routes, clock)).incident_ids[0]


async def kinds(db: Database, incident_id: int, *wanted: str) -> list[tuple[str, str, str]]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT kind, actor, message FROM incident_events WHERE incident_id = $1 AND kind = ANY($2) ORDER BY id",
            incident_id, list(wanted))
    return [(r["kind"], r["actor"], r["message"]) for r in rows]


async def status_of(db: Database, incident_id: int) -> tuple[str, str | None]:
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT status, acknowledged_by FROM incidents WHERE id = $1", incident_id)
    return row["status"], row["acknowledged_by"]


async def both(pools: list[Database], config: Config, at: object) -> None:
    await asyncio.gather(*(ack_timers.timers_due(p, config, at) for p in pools))


async def test_ack_timeout_and_reminders_happen_once_across_two_schedulers(database_url: str, db: Database) -> None:
    config, clock = config_with(ack_timeout="30m", remind_every="10m"), Clock()
    incident_id = await open_incident(db, config, clock)
    await lifecycle.acknowledge(db, incident_id, "alice", ActionSource.SLACK, now=T0)
    async with instances(database_url, 2) as pools:
        for minute in range(0, 41):
            await both(pools, config, T0 + timedelta(minutes=minute))
    assert [k for k, _, _ in await kinds(db, incident_id, "reminder", "ack_lapsed")] == [
        "reminder", "reminder", "ack_lapsed"]  # at 10m and 20m; the lapse at 30m wins over the reminder
    lines = await kinds(db, incident_id, "reminder", "ack_lapsed")
    assert lines[0] == ("reminder", "scheduler", "Reminder: still acknowledged by Alice Example, for 10m")
    assert lines[2] == ("ack_lapsed", "scheduler",
                        "Acknowledgement by Alice Example lapsed after 30m: triggered again")
    assert await status_of(db, incident_id) == ("triggered", None)
    # Escalation starts again from step one, counted from the lapse.
    await escalation.escalate_due(db, config, T0 + timedelta(minutes=30))
    assert steps_of(await escalations(db, incident_id))[-1] == (1, 1)
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incident_acks") == 0


async def test_a_scheduler_back_from_a_long_pause_reminds_once_and_lapses_once(db: Database) -> None:
    config, clock = config_with(ack_timeout="2h", remind_every="10m"), Clock()
    incident_id = await open_incident(db, config, clock)
    await lifecycle.acknowledge(db, incident_id, "bob", API, now=T0)
    await ack_timers.timers_due(db, config, T0)  # planned
    await ack_timers.timers_due(db, config, T0 + timedelta(minutes=55))  # five reminders missed: one is posted
    assert len(await kinds(db, incident_id, "reminder")) == 1
    await ack_timers.timers_due(db, config, T0 + timedelta(minutes=64))  # the next is 10m after that one
    assert len(await kinds(db, incident_id, "reminder")) == 1
    await ack_timers.timers_due(db, config, T0 + timedelta(hours=5))  # long past the lapse: lapses once
    assert [k for k, _, _ in await kinds(db, incident_id, "reminder", "ack_lapsed")] == ["reminder", "ack_lapsed"]
    await ack_timers.timers_due(db, config, T0 + timedelta(hours=6))
    assert len(await kinds(db, incident_id, "ack_lapsed")) == 1


async def test_resolving_or_a_new_acknowledgement_cancels_the_old_timers(db: Database) -> None:
    config, clock = config_with(ack_timeout="30m"), Clock()
    incident_id = await open_incident(db, config, clock)
    await lifecycle.acknowledge(db, incident_id, "alice", API, now=T0)
    await ack_timers.timers_due(db, config, T0)
    await lifecycle.resolve(db, incident_id, "alice", API, now=T0 + timedelta(minutes=5))
    await ack_timers.timers_due(db, config, T0 + timedelta(hours=1))
    assert await kinds(db, incident_id, "ack_lapsed") == []
    assert (await status_of(db, incident_id))[0] == "resolved"
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incident_acks") == 0


async def test_restart_between_acknowledgement_and_lapse_keeps_the_timer(database_url: str, db: Database) -> None:
    config, clock = config_with(ack_timeout="30m"), Clock()
    incident_id = await open_incident(db, config, clock)
    await lifecycle.acknowledge(db, incident_id, "alice", API, now=T0)
    async with instances(database_url, 1) as (first,):
        await ack_timers.timers_due(first, config, T0 + timedelta(minutes=1))
    async with instances(database_url, 2) as restarted:  # new processes: nothing was kept in memory
        await both(restarted, config, T0 + timedelta(minutes=29))
        assert await kinds(db, incident_id, "ack_lapsed") == []
        await both(restarted, config, T0 + timedelta(minutes=31))
    assert len(await kinds(db, incident_id, "ack_lapsed")) == 1


async def test_unacknowledge_restarts_escalation_and_says_who(db: Database) -> None:
    config, clock = config_with(), Clock()
    incident_id = await open_incident(db, config, clock)
    await escalation.escalate_due(db, config, T0)
    await lifecycle.acknowledge(db, incident_id, "alice", API, now=T0 + timedelta(minutes=1))
    result = await ack_actions.unacknowledge(db, incident_id, "bob", ActionSource.TELEGRAM,
                                             now=T0 + timedelta(minutes=20))
    assert result.incident.status is Status.TRIGGERED and result.incident.acknowledged_by is None
    assert result.events[0].message == "Unacknowledged by bob (was acknowledged by alice): triggered again"
    await escalation.escalate_due(db, config, T0 + timedelta(minutes=20))
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 1)]
    with pytest.raises(Conflict, match=rf"cannot unacknowledge #{incident_id}: #{incident_id} was triggered"):
        await ack_actions.unacknowledge(db, incident_id, "bob", API)


async def test_reassign_tells_the_new_assignee_through_their_contacts(db: Database) -> None:
    config, clock = config_with(), Clock()
    incident_id = await open_incident(db, config, clock)
    await lifecycle.acknowledge(db, incident_id, "bob", API, now=T0)
    result = await ack_actions.reassign(db, config, incident_id, "alice", "bob", ActionSource.SLACK,
                                        now=T0 + timedelta(minutes=2))
    assert (result.incident.status, result.incident.acknowledged_by) == (Status.ACKNOWLEDGED, "alice")
    assert result.events[0].message == "Reassigned to Alice Example by bob (was bob)"
    async with db.connection() as conn:
        paged = await conn.fetch("SELECT channel, target FROM deliveries WHERE incident_id = $1 AND event_id = $2",
                                 incident_id, result.events[0].id)
    assert {(r["channel"], r["target"]) for r in paged} >= {("slack", "U01ALICE"), ("telegram", "111111"),
                                                           ("email", "alice@example.com")}
    with pytest.raises(Invalid, match="to: unknown user 'mallory'"):
        await ack_actions.reassign(db, config, incident_id, "mallory", "bob", API)
    with pytest.raises(Conflict, match="already acknowledged by alice"):
        await ack_actions.reassign(db, config, incident_id, "alice", "bob", API)
    await lifecycle.resolve(db, incident_id, "alice", API, now=T0 + timedelta(minutes=3))
    with pytest.raises(Conflict, match=rf"cannot reassign #{incident_id}: #{incident_id} was already resolved"):
        await ack_actions.reassign(db, config, incident_id, "bob", "alice", API)


async def test_snooze_holds_until_its_end_then_triggers_once(database_url: str, db: Database) -> None:
    config, clock = config_with(), Clock()
    incident_id = await open_incident(db, config, clock)
    result = await ack_actions.snooze(db, incident_id, 3600, "carol", API, now=T0)
    assert (result.incident.status, result.incident.acknowledged_by) == (Status.ACKNOWLEDGED, "carol")
    assert result.events[0].message == "Snoozed for 1h by carol: triggered again at 2026-11-26 20:03 UTC"
    async with instances(database_url, 2) as pools:
        await both(pools, config, T0 + timedelta(minutes=59))
        assert await status_of(db, incident_id) == ("acknowledged", "carol")
        await both(pools, config, T0 + timedelta(minutes=61))
        await both(pools, config, T0 + timedelta(minutes=62))
    assert await kinds(db, incident_id, "ack_lapsed") == [("ack_lapsed", "scheduler",
                                                           "Snooze by Carol ended: triggered again")]
    assert await status_of(db, incident_id) == ("triggered", None)
    with pytest.raises(Invalid, match="duration"):
        await ack_actions.snooze(db, incident_id, 10, "carol", API)


async def test_escalate_now_fires_the_next_step_at_once_and_keeps_the_plan(db: Database) -> None:
    config, clock = config_with(), Clock()
    incident_id = await open_incident(db, config, clock)
    await escalation.escalate_due(db, config, T0)  # step 1 at 0m
    result = await ack_actions.escalate(db, config, incident_id, "alice", ActionSource.SLACK,
                                        now=T0 + timedelta(minutes=2))
    assert result.events[0].message == "Escalated to step 2: notified Carol (Slack DM, email) and #C0LEADS"
    assert (result.events[0].actor, result.events[0].source) == ("alice", "slack")
    await escalation.escalate_due(db, config, T0 + timedelta(minutes=15))  # step 2's own time: already fired
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 2)]
    await escalation.escalate_due(db, config, T0 + timedelta(minutes=30))  # the second pass, as planned
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 2), (2, 1)]


async def test_escalating_an_acknowledged_incident_triggers_it_and_the_refusals(db: Database) -> None:
    config, clock = config_with(), Clock()
    incident_id = await open_incident(db, config, clock)
    await escalation.escalate_due(db, config, T0)
    await lifecycle.acknowledge(db, incident_id, "bob", API, now=T0 + timedelta(minutes=1))
    result = await ack_actions.escalate(db, config, incident_id, "bob", API, now=T0 + timedelta(minutes=3))
    assert result.incident.status is Status.TRIGGERED
    await escalation.escalate_due(db, config, T0 + timedelta(minutes=31))  # it runs on: pass 2 step 1
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 2), (2, 1)]
    await ack_actions.escalate(db, config, incident_id, "bob", API, now=T0 + timedelta(minutes=32))
    with pytest.raises(Conflict, match="every step of policy default has fired"):
        await ack_actions.escalate(db, config, incident_id, "bob", API)
    await lifecycle.resolve(db, incident_id, "bob", API, now=T0 + timedelta(minutes=40))
    plain = parse_config({**copy.deepcopy(CONFIG_DATA), "routes": [{"id": "all"}]})
    other = await open_incident(db, plain, Clock(T0 + timedelta(hours=2)))
    with pytest.raises(Conflict, match=f"cannot escalate #{other}: its route has no escalation policy"):
        await ack_actions.escalate(db, plain, other, "bob", API)


async def test_a_reminder_reaches_the_incidents_slack_thread_telegram_message_and_mail_thread(db: Database) -> None:
    config = config_with(remind_every="10m", slack_channel="C0OPS", telegram_chat="-1001", email=["ops@example.com"])
    incident_id = await open_incident(db, config, Clock())
    await lifecycle.acknowledge(db, incident_id, "alice", API, now=T0)
    await ack_timers.timers_due(db, config, T0 + timedelta(minutes=10))
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT d.channel, d.kind, d.target FROM deliveries d JOIN incident_events e ON "
                                "e.id = d.event_id WHERE d.incident_id = $1 AND e.kind = 'reminder' ORDER BY channel",
                                incident_id)
    # email replies in the incident's thread; Slack and Telegram open the message here, as no worker has sent one
    assert [(r["channel"], r["kind"], r["target"]) for r in rows] == [
        ("email", "update", "ops@example.com"), ("slack", "open", "C0OPS"), ("telegram", "open", "-1001")]
