"""SLA breaches against real PostgreSQL: once across two schedulers and a restart, not after an acknowledgement,
again after a reopen, an escalation on breach, and targets that cross a daylight-saving change."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta

from store import lifecycle, sla
from store.db import Database
from store.domain.config_schema import Config, parse_config
from store.domain.incident import ActionSource
from store.ingest import ingest_batch
from tests.conftest import load_sample
from tests.integration.test_escalation import instances
from tests.support.escalation import CONFIG_DATA, T0, Clock
from webhook.alertmanager import parse_webhook

SAMPLE = "05_firing_from_prometheus.json"  # one critical alert


def config_with(route_sla: dict | None = None, severity_sla: dict | None = None) -> Config:
    data = copy.deepcopy(CONFIG_DATA)
    if route_sla is not None:
        data["routes"][0]["sla"] = route_sla
    if severity_sla is not None:
        data["sla"] = severity_sla
    return parse_config(data)


async def open_at(db: Database, config: Config, when: datetime, resolved: bool = False) -> int:
    body = load_sample(SAMPLE)
    if resolved:
        body["status"] = "resolved"
        for alert in body["alerts"]:
            alert["status"], alert["endsAt"] = "resolved", when.isoformat()
    result = await ingest_batch(db, parse_webhook(body), config.routes, Clock(when))
    return result.incident_ids[0]


async def breach_events(db: Database, incident_id: int) -> list[dict]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT kind, message, data, actor, source, created_at FROM incident_events"
            " WHERE incident_id = $1 AND kind IN ('sla_breached', 'escalated') ORDER BY id", incident_id)
    return [dict(r) for r in rows]


async def test_a_breach_is_recorded_once_across_two_schedulers_and_a_restart(database_url: str, db: Database) -> None:
    config = config_with({"ack": "5m", "resolve": "1h"})
    incident_id = await open_at(db, config, T0)
    async with instances(database_url, 2) as pools:
        for offset in (timedelta(minutes=4, seconds=59), timedelta(minutes=5), timedelta(minutes=6)):
            await asyncio.gather(*(sla.record_breaches(p, config, T0 + offset) for p in pools))
    assert [e["message"] for e in await breach_events(db, incident_id)] == [
        "SLA breached: not acknowledged within 5m"]
    restarted = config_with({"ack": "5m", "resolve": "1h"})  # a new process reads the config again
    async with instances(database_url, 2) as pools:
        results = await asyncio.gather(*(sla.record_breaches(p, restarted, T0 + timedelta(hours=1)) for p in pools))
    assert sorted(b.kind for found in results for b in found) == ["resolve"]
    events = await breach_events(db, incident_id)
    assert [(e["data"]["kind"], e["actor"], e["source"]) for e in events] == [
        ("ack", "scheduler", "scheduler"), ("resolve", "scheduler", "scheduler")]
    assert events[0]["data"]["due_at"] == (T0 + timedelta(minutes=5)).isoformat()


async def test_no_ack_breach_after_an_acknowledgement_and_a_new_one_after_a_reopen(db: Database) -> None:
    config = config_with({"ack": "5m"})
    incident_id = await open_at(db, config, T0)
    await lifecycle.acknowledge(db, incident_id, "alice", ActionSource.API, now=T0 + timedelta(minutes=4))
    assert await sla.record_breaches(db, config, T0 + timedelta(minutes=30)) == []
    await open_at(db, config, T0 + timedelta(minutes=31), resolved=True)
    reopened_at = T0 + timedelta(minutes=33)
    assert await open_at(db, config, reopened_at) == incident_id  # within reopen_within: the same incident
    found = await sla.record_breaches(db, config, reopened_at + timedelta(minutes=5))
    assert [(b.incident_id, b.kind) for b in found] == [(incident_id, "ack")]


async def test_the_route_target_wins_over_the_severity_target_kind_by_kind(db: Database) -> None:
    config = config_with({"ack": "10m"}, {"critical": {"ack": "1m", "resolve": "20m"}})
    incident_id = await open_at(db, config, T0)
    assert await sla.record_breaches(db, config, T0 + timedelta(minutes=9)) == []
    found = await sla.record_breaches(db, config, T0 + timedelta(minutes=20))
    assert sorted(b.kind for b in found) == ["ack", "resolve"]
    assert all(b.incident_id == incident_id and b.route_id == "all" for b in found)


async def test_on_breach_escalate_pages_the_next_step_at_once(db: Database) -> None:
    config = config_with({"ack": "5m", "on_breach": "escalate"})
    incident_id = await open_at(db, config, T0)
    from store import escalation

    await escalation.escalate_due(db, config, T0)  # step 1 at 0m
    await sla.record_breaches(db, config, T0 + timedelta(minutes=5))
    events = await breach_events(db, incident_id)
    assert [e["kind"] for e in events] == ["escalated", "sla_breached", "escalated"]
    assert events[2]["data"]["step"] == 2 and events[2]["data"]["reason"] == "SLA ack breached"
    assert "(SLA ack breached)" in events[2]["message"]
    # the step fired early is not fired again at its own time
    await escalation.escalate_due(db, config, T0 + timedelta(minutes=15))
    assert [e["data"].get("step") for e in await breach_events(db, incident_id) if e["kind"] == "escalated"] == [1, 2]


async def test_a_target_across_the_spring_daylight_saving_change_is_elapsed_time(db: Database) -> None:
    # Europe/Berlin moves from 02:00 to 03:00 local on 29 March 2026 (01:00 UTC): a 4h target from 00:30 local
    # (23:30 UTC) falls due 4 real hours later, 05:30 local, not 04:30.
    config = config_with({"resolve": "4h"})
    opened = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    incident_id = await open_at(db, config, opened)
    assert await sla.record_breaches(db, config, datetime(2026, 3, 29, 3, 29, 59, tzinfo=UTC)) == []
    found = await sla.record_breaches(db, config, datetime(2026, 3, 29, 3, 30, tzinfo=UTC))
    assert [(b.incident_id, b.kind) for b in found] == [(incident_id, "resolve")]
