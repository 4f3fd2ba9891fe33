"""Lifecycle services against real PostgreSQL: transitions, 409 messages, timeline, manual resolve and reopen."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta

import pytest

from store import lifecycle
from store.db import Database
from store.domain.incident import ActionSource
from store.domain.routing import RouteTable
from store.errors import Conflict, Invalid, NotFound
from store.ingest import ingest_batch
from tests.conftest import load_sample
from webhook.alertmanager import parse_webhook

T0 = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)
API = ActionSource.API


async def _alert_incident(db: Database, now: datetime = T0) -> int:
    body = load_sample("01_firing_group_2alerts_amtool.json")
    result = await ingest_batch(db, parse_webhook(body), RouteTable(), lambda: now)
    return result.incident_ids[0]


async def _timeline(db: Database, incident_id: int) -> list[tuple[str, str, str]]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT kind, actor, source FROM incident_events WHERE incident_id = $1 ORDER BY id", incident_id
        )
    return [(r["kind"], r["actor"], r["source"]) for r in rows]


async def test_acknowledge_then_resolve_records_who_and_how(db: Database) -> None:
    incident_id = await _alert_incident(db)
    acked = await lifecycle.acknowledge(
        db, incident_id, "token:ci", API, assignee="alice", now=T0 + timedelta(minutes=2)
    )
    assert acked.incident.status == "acknowledged" and acked.incident.acknowledged_by == "alice"
    assert acked.events[0].data == {"assignee": "alice"}
    done = await lifecycle.resolve(
        db, incident_id, "bob", ActionSource.SLACK, "rolled back", now=T0 + timedelta(minutes=9)
    )
    assert done.incident.status == "resolved" and done.incident.resolved_by == "bob"
    assert done.events[0].data["note"] == "rolled back"
    assert (await _timeline(db, incident_id))[-2:] == [
        ("acknowledged", "token:ci", "api"),
        ("resolved", "bob", "slack"),
    ]


async def test_acknowledging_twice_or_after_resolve_is_a_conflict_naming_the_state(db: Database) -> None:
    incident_id = await _alert_incident(db)
    await lifecycle.acknowledge(db, incident_id, "alice", API, now=T0)
    with pytest.raises(Conflict) as again:
        await lifecycle.acknowledge(db, incident_id, "bob", API)
    assert again.value.code == "invalid_transition"
    assert f"#{incident_id} was already acknowledged by alice at 2026-11-26T19:03:00Z" in again.value.message
    await lifecycle.resolve(db, incident_id, "carol", API, now=T0)
    for action in (lifecycle.acknowledge, lifecycle.resolve):
        with pytest.raises(Conflict) as late:
            await action(db, incident_id, "bob", API)
        assert "already resolved by carol" in late.value.message


async def test_unknown_incident_is_not_found(db: Database) -> None:
    for call in (
        lifecycle.acknowledge(db, 999, "a", API),
        lifecycle.resolve(db, 999, "a", API),
        lifecycle.add_note(db, 999, "a", API, "hi"),
    ):
        with pytest.raises(NotFound) as err:
            await call
        assert err.value.message == "incident #999 does not exist"


async def test_a_person_resolves_while_alerts_fire_and_a_later_firing_reopens_by_the_rules(db: Database) -> None:
    incident_id = await _alert_incident(db)
    done = await lifecycle.resolve(db, incident_id, "alice", API, now=T0 + timedelta(minutes=1))
    assert done.incident.status == "resolved" and done.incident.firing_alert_count == 2
    body = load_sample("01_firing_group_2alerts_amtool.json")
    again = await ingest_batch(db, parse_webhook(copy.deepcopy(body)), RouteTable(), lambda: T0 + timedelta(minutes=2))
    assert again.incident_ids == [incident_id]  # within reopen_within: the same incident reopens
    later = await ingest_batch(db, parse_webhook(body), RouteTable(), lambda: T0 + timedelta(minutes=2))
    assert later.incident_ids == [incident_id]
    kinds = [k for k, _, _ in await _timeline(db, incident_id)]
    assert kinds[-2:] == ["resolved", "reopened"]


async def test_notes_in_any_state_and_blank_notes_refused(db: Database) -> None:
    incident_id = await _alert_incident(db)
    await lifecycle.resolve(db, incident_id, "alice", API)
    noted = await lifecycle.add_note(db, incident_id, "bob", ActionSource.TELEGRAM, "postmortem on Monday")
    assert noted.events[0].kind == "note" and noted.events[0].message == "postmortem on Monday"
    with pytest.raises(Invalid) as blank:
        await lifecycle.add_note(db, incident_id, "bob", API, "   ")
    assert blank.value.field == "text"


async def test_manual_incidents_each_get_their_own_group(db: Database) -> None:
    first = await lifecycle.open_manual(db, "Payments slow", "critical", "customers report", "alice", API)
    second = await lifecycle.open_manual(db, "Payments slow", "critical", "", "bob", API)
    assert first.incident.id != second.incident.id
    assert first.incident.group_key.startswith("manual|") and first.incident.source == "api"
    assert first.incident.description == "customers report" and first.incident.status == "triggered"
    assert (await _timeline(db, first.incident.id)) == [("opened", "alice", "api")]
    with pytest.raises(Invalid) as bad:
        await lifecycle.open_manual(db, "x", "fatal", "", "alice", API)
    assert bad.value.field == "severity" and "severity" in bad.value.message


async def test_listeners_hear_committed_actions_only(db: Database) -> None:
    heard: list[str] = []

    def listener(result: lifecycle.ActionResult) -> None:
        heard.append(result.action)

    lifecycle.add_listener(listener)
    try:
        incident_id = await _alert_incident(db)
        await lifecycle.acknowledge(db, incident_id, "alice", API)
        with pytest.raises(Conflict):
            await lifecycle.acknowledge(db, incident_id, "alice", API)
    finally:
        lifecycle.remove_listener(listener)
    assert heard == ["acknowledge"]


async def test_a_click_that_changes_nothing_is_answered_while_a_writer_holds_the_incident(db: Database) -> None:
    """Everyone in the channel presses Acknowledge while webhooks keep writing the incident's row: the clicks after
    the first are answered from the committed row, without waiting for the writers' lock; a real change waits."""
    incident_id = await _alert_incident(db)
    await lifecycle.acknowledge(db, incident_id, "alice", API, now=T0)
    async with db.transaction() as writer:  # as an ingest transaction that has just written the incident
        await writer.fetchval("SELECT id FROM incidents WHERE id = $1 FOR NO KEY UPDATE", incident_id)
        with pytest.raises(Conflict) as again:
            await asyncio.wait_for(lifecycle.acknowledge(db, incident_id, "bob", API), 5)
        assert "already acknowledged by alice" in again.value.message
        resolving = asyncio.create_task(lifecycle.resolve(db, incident_id, "bob", API))
        await asyncio.sleep(0.5)
        assert not resolving.done()  # a change of state takes the lock: it waits for the writer
    assert (await resolving).incident.status == "resolved"
