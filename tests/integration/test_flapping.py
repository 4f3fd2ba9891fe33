"""Flapping on real PostgreSQL with a hand-moved clock: a reopening does not page anew; a group that changes
state too often pages once, stays quiet, and settles once across two schedulers when it has been stable."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from store import escalation
from store.db import Database
from store.flapping import settle_due
from tests.integration.test_escalation import instances
from tests.support.oncall import T0, alert, deliveries_of, escalated, events_of, incident_row, ingest, oncall_config

DB = {"service": "db", "instance": "db-1"}


async def flap(db: Database, config: object, times: int, start: object = T0) -> int:
    """Fire and resolve the same alert `times` times a minute apart (instances start anew each time)."""
    incident_id = 0
    for n in range(times):
        at = start + timedelta(minutes=2 * n)  # type: ignore[operator]
        (incident_id,) = await ingest(db, config, at, [alert("f1", DB, at)])
        await escalation.escalate_due(db, config, at)
        await ingest(db, config, at + timedelta(minutes=1), [alert("f1", DB, at, "resolved")])
    return incident_id


async def test_a_reopening_within_reopen_within_does_not_page_anew(db: Database) -> None:
    config = oncall_config(route={"flap_threshold": 0})
    incident_id = await flap(db, config, 3)
    assert await escalated(db, incident_id) == 1  # the first opening paged; the reopenings did not
    assert [m for _, m in await events_of(db, incident_id, "reopened")] == [
        "Reopened without paging: an alert fired again within 5m of resolving"] * 2
    assert not (await incident_row(db, incident_id))["flapping"]


async def test_a_flapping_group_pages_once_then_stays_quiet(db: Database) -> None:
    config = oncall_config(route={"flap_threshold": 3, "flap_window": "1h"})
    incident_id = await flap(db, config, 2)  # opened, resolved, reopened, resolved: 4 changes
    row = await incident_row(db, incident_id)
    assert row["flapping"] and row["status"] == "resolved"
    assert await events_of(db, incident_id, "flapping") == [
        ("flapping", "Flapping (more than 3 state changes within 1h): quiet until it has been stable for 1h")]
    mails_before = len(await deliveries_of(db, incident_id, "email"))
    await flap(db, config, 3, T0 + timedelta(minutes=10))  # more of it: quiet
    assert len(await deliveries_of(db, incident_id, "email")) == mails_before  # no mail for the flapping
    assert await escalated(db, incident_id) == 1
    # Much later than reopen_within, a new incident of the same group: still flapping, so it opens quiet.
    later = T0 + timedelta(minutes=40)
    (second,) = await ingest(db, config, later, [alert("f2", DB, later)])
    assert second != incident_id and (await incident_row(db, second))["flapping"]
    assert (await events_of(db, second, "opened"))[0][1] == (
        "Opened by Alertmanager, while its group is flapping: quiet until it is stable")
    await escalation.escalate_due(db, config, later + timedelta(minutes=5))
    assert await escalated(db, second) == 0 and await deliveries_of(db, second, "email") == []


async def test_stable_for_the_window_it_settles_once_and_pages_if_it_still_fires(database_url: str,
                                                                                 db: Database) -> None:
    config = oncall_config(route={"flap_threshold": 3, "flap_window": "1h"})
    await flap(db, config, 2)
    last = T0 + timedelta(minutes=20)
    (incident_id,) = await ingest(db, config, last, [alert("f9", DB, last)])  # fires, and keeps firing
    assert (await incident_row(db, incident_id))["flapping"]
    async with instances(database_url, 2) as pools:
        await asyncio.gather(*(settle_due(p, config, last + timedelta(minutes=59)) for p in pools))
        assert (await incident_row(db, incident_id))["flapping"]
        await asyncio.gather(*(settle_due(p, config, last + timedelta(hours=1)) for p in pools))
        await asyncio.gather(*(settle_due(p, config, last + timedelta(hours=2)) for p in pools))
    assert await events_of(db, incident_id, "flapping_ended", "flapping_settled") == [
        ("flapping_ended", "Stable for 1h and still firing: paging now")]
    assert not (await incident_row(db, incident_id))["flapping"]
    before = await escalated(db, incident_id)
    await escalation.escalate_due(db, config, last + timedelta(hours=1))
    assert await escalated(db, incident_id) == before + 1
    assert "flapping_ended" in [d["event_kind"] for d in await deliveries_of(db, incident_id, "email")]
