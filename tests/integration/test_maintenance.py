"""Maintenance windows on real PostgreSQL with a hand-moved clock: incidents open quiet, page once when their
window ends while they fire, are released once across two schedulers, and keep their window over a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

import pytest

from store import escalation, maintenance
from store.db import Database
from store.errors import Conflict, Invalid, NotFound, Unavailable
from store.silence import SilenceFailed
from tests.integration.test_escalation import instances
from tests.support.oncall import (
    T0,
    alert,
    deliveries_of,
    escalated,
    events_of,
    incident_row,
    ingest,
    oncall_config,
)

DB = {"service": "db", "instance": "db-1"}
WINDOW = {"id": "db-upgrade", "match": ['service="db"'], "from": "2026-11-26T18:30:00Z",
          "until": "2026-11-26T20:00:00Z"}


class Silences:
    """A stand-in for Alertmanager's silence API: records what it is asked, can fail."""

    def __init__(self, fail: bool = False) -> None:
        self.bodies: list[Mapping[str, object]] = []
        self.fail = fail

    async def create_silence(self, body: Mapping[str, object]) -> str:
        if self.fail:
            raise SilenceFailed("cannot reach Alertmanager at http://127.0.0.1:1 (ClientConnectorError)")
        self.bodies.append(body)
        return f"silence-{len(self.bodies)}"


async def test_an_incident_in_a_window_stays_quiet_then_pages_once_when_it_ends(database_url: str,
                                                                                 db: Database) -> None:
    config = oncall_config(maintenance=[WINDOW])
    (incident_id,) = await ingest(db, config, T0, [alert("f1", DB, T0)])
    row = await incident_row(db, incident_id)
    assert (row["maintenance_id"], row["status"]) == ("db-upgrade", "triggered")
    assert (await events_of(db, incident_id, "opened"))[0][1] == (
        "Opened by Alertmanager, in maintenance window db-upgrade: no pages until it ends")
    await escalation.escalate_due(db, config, T0 + timedelta(minutes=30))
    assert await escalated(db, incident_id) == 0
    assert await deliveries_of(db, incident_id, "email") == []  # no mail while in maintenance
    assert [d["kind"] for d in await deliveries_of(db, incident_id, "slack")] == ["open"]  # one quiet message

    async with instances(database_url, 2) as pools:
        at = T0 + timedelta(minutes=59)
        await asyncio.gather(*(maintenance.release_ended(p, config, at) for p in pools))
        assert (await incident_row(db, incident_id))["maintenance_id"] == "db-upgrade"
        at = T0 + timedelta(hours=1)  # the window ends at 20:00
        await asyncio.gather(*(maintenance.release_ended(p, config, at) for p in pools))
        await asyncio.gather(*(maintenance.release_ended(p, config, at + timedelta(seconds=1)) for p in pools))
    assert await events_of(db, incident_id, "maintenance_ended") == [
        ("maintenance_ended", "Maintenance window db-upgrade ended while it still fires: paging now")]
    assert (await incident_row(db, incident_id))["maintenance_id"] is None
    await escalation.escalate_due(db, config, T0 + timedelta(hours=1))
    assert await escalated(db, incident_id) == 1  # paged once, normally
    assert [d["event_kind"] for d in await deliveries_of(db, incident_id, "email")][:1] == ["maintenance_ended"]


async def test_an_alert_the_window_does_not_cover_takes_the_incident_out(db: Database) -> None:
    config = oncall_config(maintenance=[{**WINDOW, "match": ['service="db"', 'instance="db-1"']}])
    (incident_id,) = await ingest(db, config, T0, [alert("f1", DB, T0)])
    assert (await incident_row(db, incident_id))["maintenance_id"] == "db-upgrade"
    await ingest(db, config, T0 + timedelta(minutes=1), [alert("f1", DB, T0), alert("f2", {**DB, "instance": "db-2"},
                                                                                      T0)])
    assert (await incident_row(db, incident_id))["maintenance_id"] is None
    assert await events_of(db, incident_id, "maintenance_ended") == [
        ("maintenance_ended", "Left maintenance window db-upgrade: an alert it does not cover fired; paging now")]
    await escalation.escalate_due(db, config, T0 + timedelta(minutes=1))
    assert await escalated(db, incident_id) == 1


async def test_resolved_within_its_window_it_never_pages(db: Database) -> None:
    config = oncall_config(maintenance=[WINDOW])
    (incident_id,) = await ingest(db, config, T0, [alert("f1", DB, T0)])
    await ingest(db, config, T0 + timedelta(minutes=10), [alert("f1", DB, T0, "resolved")])
    row = await incident_row(db, incident_id)
    assert (row["status"], row["maintenance_id"]) == ("resolved", "db-upgrade")  # it was in that window
    assert await maintenance.release_ended(db, config, T0 + timedelta(hours=2)) == []
    await escalation.escalate_due(db, config, T0 + timedelta(hours=2))
    assert await escalated(db, incident_id) == 0
    assert await deliveries_of(db, incident_id, "email") == []


async def test_api_window_is_seen_by_the_ingest_and_ending_it_releases_at_once(database_url: str) -> None:
    config = oncall_config()
    async with instances(database_url, 1) as (first,):
        window = await maintenance.create(first, ['service="db"', 'instance=~"db-.*"'], T0, T0 + timedelta(hours=2),
                                          "alice", comment="disk swap", now=T0)
        assert window.id == "mw-1" and window.match_text() == ['service="db"', 'instance=~"db-.*"']
    async with instances(database_url, 1) as (restarted,):  # a new process: the window is in the database
        (incident_id,) = await ingest(restarted, config, T0 + timedelta(minutes=5), [alert("f1", DB, T0)])
        assert (await incident_row(restarted, incident_id))["maintenance_id"] == "mw-1"
        listed = await maintenance.views(restarted, config, T0 + timedelta(minutes=6))
        assert [(v.window.id, v.active, v.window.created_by) for v in listed] == [("mw-1", True, "alice")]
        ended = await maintenance.end(restarted, config, "mw-1", "bob", T0 + timedelta(minutes=30))
        assert ended.ends_at == T0 + timedelta(minutes=30)
        assert (await incident_row(restarted, incident_id))["maintenance_id"] is None
        assert [k for k, _ in await events_of(restarted, incident_id, "maintenance_ended")] == ["maintenance_ended"]
        with pytest.raises(Conflict, match="mw-1 already ended"):
            await maintenance.end(restarted, config, "mw-1", "bob", T0 + timedelta(minutes=31))
        with pytest.raises(NotFound, match="mw-9 does not exist"):
            await maintenance.end(restarted, config, "mw-9", "bob", T0)


async def test_bad_windows_are_refused_naming_the_field(db: Database) -> None:
    config = oncall_config(maintenance=[WINDOW])
    with pytest.raises(Invalid, match=r"match\[1\]: invalid regex"):
        await maintenance.create(db, ['service="db"', 'host=~"("'], T0, T0 + timedelta(hours=1), "a", now=T0)
    with pytest.raises(Invalid, match="match: expected one or more matchers"):
        await maintenance.create(db, [], T0, T0 + timedelta(hours=1), "a", now=T0)
    with pytest.raises(Invalid, match="duration: expected a duration from 1m to 31d"):
        maintenance.period(None, None, timedelta(days=40), T0)
    with pytest.raises(Invalid, match="until: .* is not after from"):
        maintenance.period(T0, T0 - timedelta(hours=1), None, T0)
    with pytest.raises(Invalid, match="until: .* has passed"):
        maintenance.period(T0 - timedelta(hours=3), T0 - timedelta(hours=1), None, T0)
    with pytest.raises(Conflict, match="declared in the config file"):
        await maintenance.end(db, config, "db-upgrade", "bob", T0)
    with pytest.raises(Conflict, match="silences are off"):
        await maintenance.create(db, ['service="db"'], T0, T0 + timedelta(hours=1), "a", silence=True, now=T0)
    with pytest.raises(Unavailable, match="cannot reach Alertmanager"):
        await maintenance.create(db, ['service="db"'], T0, T0 + timedelta(hours=1), "a", silence=True,
                                 silencer=Silences(fail=True), now=T0)
    assert await maintenance.views(db, oncall_config(), T0) == []  # nothing was stored


async def test_windows_make_their_alertmanager_silence_once(database_url: str, db: Database) -> None:
    weekly = {"id": "sat-db", "match": ['service="db"', 'env!~"dev|test"'], "weekly": "Thu 19:30",
              "duration": "2h", "timezone": "UTC", "silence": True}
    config = oncall_config(maintenance=[weekly])
    silences = Silences()
    at = T0 + timedelta(minutes=31)  # Thursday 19:31
    async with instances(database_url, 2) as pools:
        made = await asyncio.gather(*(maintenance.make_silences(p, config, silences, at) for p in pools))
        await maintenance.make_silences(pools[0], config, silences, at + timedelta(minutes=5))
    assert sum(made) == 1 and len(silences.bodies) == 1
    assert silences.bodies[0]["matchers"] == [
        {"name": "service", "value": "db", "isRegex": False, "isEqual": True},
        {"name": "env", "value": "dev|test", "isRegex": True, "isEqual": False},
    ]
    assert silences.bodies[0]["endsAt"] == "2026-11-26T21:30:00Z"
    api = await maintenance.create(db, ['service="web"'], T0, T0 + timedelta(hours=1), "alice", silence=True,
                                   silencer=silences, now=T0)
    assert api.silence_ids == ("silence-2",) and silences.bodies[1]["createdBy"] == "alice"
