"""Notification rules on the real store: a paged person is reached method by method until the acknowledgement,
each rule once across concurrent runs; people without rules get every contact at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from store import escalation, lifecycle, paging
from store.db import Database
from store.domain.incident import ActionSource
from tests.support.paging import (
    ALICE_PHONE,
    ALICE_PUSHOVER,
    ALICE_TOPIC,
    BOB_PHONE,
    BOB_PUSHOVER,
    T0,
    make_config,
    open_paged_incident,
    streams,
)

PAGE_CHANNELS = {"ntfy", "pushover", "sms", "voice"}


async def run_at(db: Database, config, when) -> list[str]:
    """One scheduler run at `when`: due steps, then due rules; the kinds of the timeline entries written."""
    events = await escalation.escalate_due(db, config, when)
    events += await paging.notify_due(db, config, when)
    return [e.kind for e in events]


async def pages(db: Database, incident_id: int) -> list[tuple[str, str]]:
    return [s for s in await streams(db, incident_id) if s[0] in PAGE_CHANNELS or s[1].startswith("U01")]


async def test_rules_page_alice_by_push_then_sms_then_voice(db: Database) -> None:
    config = make_config()
    incident_id = await open_paged_incident(db, config)
    assert await run_at(db, config, T0) == ["escalated", "paged"]
    assert await pages(db, incident_id) == [("ntfy", ALICE_TOPIC), ("pushover", ALICE_PUSHOVER)]
    assert await run_at(db, config, T0 + timedelta(seconds=59)) == []
    assert await run_at(db, config, T0 + timedelta(minutes=1)) == ["paged"]
    assert (await pages(db, incident_id))[-1] == ("sms", ALICE_PHONE)
    assert await run_at(db, config, T0 + timedelta(minutes=5)) == ["paged"]
    assert (await pages(db, incident_id))[-1] == ("voice", ALICE_PHONE)
    (page,) = await paging.pages_of(db, incident_id)
    assert (page.state, page.fired_count) == ("done", 3)


async def test_the_step_names_the_rules_and_each_rule_says_which_it_was(db: Database) -> None:
    config = make_config()
    incident_id = await open_paged_incident(db, config)
    fired = await escalation.escalate_due(db, config, T0) + await paging.notify_due(db, config, T0)
    assert fired[0].message == ("Escalated to step 1: notified Alice Example (notification rules: push at 0m, "
                                "SMS at 1m, voice call at 5m)")
    assert fired[1].message == "Paged Alice Example by push (rule 1 of 3, at 0m)"
    assert fired[1].data["method"] == "push" and fired[1].incident_id == incident_id


async def test_nothing_pages_after_the_acknowledgement(db: Database) -> None:
    config = make_config()
    incident_id = await open_paged_incident(db, config)
    await run_at(db, config, T0)
    before = await pages(db, incident_id)
    await lifecycle.acknowledge(db, incident_id, "alice", ActionSource.NTFY, now=T0 + timedelta(seconds=20))
    for minutes in (1, 5, 10, 60):
        assert await run_at(db, config, T0 + timedelta(minutes=minutes)) == []
    assert await pages(db, incident_id) == before
    (page,) = await paging.pages_of(db, incident_id)
    assert page.state == "stopped" and page.next_due_at is None


async def test_a_person_without_rules_gets_every_contact_at_once_a_phone_as_a_text(db: Database) -> None:
    config = make_config()
    incident_id = await open_paged_incident(db, config)
    await run_at(db, config, T0)
    await run_at(db, config, T0 + timedelta(minutes=10))
    bobs = [s for s in await streams(db, incident_id) if s[1] in ("U01BOB", "bob@example.com", BOB_PHONE,
                                                                   BOB_PUSHOVER)]
    assert set(bobs) == {("slack", "U01BOB"), ("email", "bob@example.com"), ("pushover", BOB_PUSHOVER),
                         ("sms", BOB_PHONE)}


async def test_each_rule_fires_once_across_concurrent_runs(db: Database) -> None:
    config = make_config()
    incident_ids = [await open_paged_incident(db, config, f"g{i}") for i in range(5)]
    await escalation.escalate_due(db, config, T0)
    for when in (T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)):
        runs = await asyncio.gather(*(paging.notify_due(db, config, when) for _ in range(4)))
        assert sum(len(r) for r in runs) == len(incident_ids)
    for incident_id in incident_ids:
        channels = [c for c, _ in await pages(db, incident_id) if c != "slack"]
        assert channels == ["ntfy", "pushover", "sms", "voice"]


async def test_a_late_run_fires_the_missed_rules_in_order_and_a_later_page_restarts_them(db: Database) -> None:
    config = make_config(steps=[{"after": "0m", "notify": ["user:alice"]}, {"after": "30m", "notify": ["user:alice"]}])
    incident_id = await open_paged_incident(db, config)
    await escalation.escalate_due(db, config, T0)
    assert len(await paging.notify_due(db, config, T0 + timedelta(minutes=7))) == 3  # the replica was down
    assert await run_at(db, config, T0 + timedelta(minutes=30)) == ["escalated", "paged"]
    (page,) = await paging.pages_of(db, incident_id)
    assert page.started_at == T0 + timedelta(minutes=30) and page.fired_count == 1
