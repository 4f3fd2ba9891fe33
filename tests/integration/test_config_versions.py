"""Config versions in PostgreSQL: apply checks and stores, every replica follows by NOTIFY, a version one replica
cannot apply is reported and changes nothing there, `tocsin serve` stores only an edited file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
import yaml

from store import config_versions, escalation
from store.config import ConfigFileError
from store.db import Database, create_database
from store.domain.config_schema import Config
from store.live_config import LiveConfig
from store.runtime import Runtime
from store.settings import DatabaseSettings
from store.sql import config_versions as versions_sql
from tests.integration.test_escalation import escalations, open_incident
from tests.support.escalation import CONFIG_DATA, T0, Clock
from tests.support.waiting import eventually

GOOD = yaml.safe_dump(CONFIG_DATA)


def edited(**changes: object) -> str:
    """The test config with top-level sections replaced."""
    return yaml.safe_dump({**CONFIG_DATA, **changes})


async def stored_versions(db: Database) -> list[int]:
    async with db.connection() as conn:
        return [v.version for v in await versions_sql.recent(conn, 100)]


@asynccontextmanager
async def replicas(url: str, count: int = 2) -> AsyncIterator[list[LiveConfig]]:
    """`count` replicas: each its own pool, runtime and live config following the database."""
    made: list[tuple[Database, LiveConfig]] = []
    try:
        for _ in range(count):
            pool = await create_database(url, DatabaseSettings(url=url, max_open_conns=3))
            live = LiveConfig(Runtime(db=pool, config=Config()), Config(), None, interval=60.0)
            await live.refresh()
            live.start()
            made.append((pool, live))
        yield [live for _, live in made]
    finally:
        for pool, live in made:
            await live.stop()
            await pool.close()


async def test_apply_stores_a_checked_version_and_an_unchanged_file_adds_none(db: Database) -> None:
    first = await config_versions.apply_text(db, GOOD, "tocsin.yml", "alice@ops1", "cli")
    assert first.created and first.version.applied_by == "alice@ops1" and first.version.applied_via == "cli"
    again = await config_versions.apply_text(db, GOOD, "tocsin.yml", "bob@ops2", "cli")
    assert not again.created and again.version.version == first.version.version
    async with db.connection() as conn:
        audit = await conn.fetch("SELECT actor, source, action, subject FROM audit_log")
    assert [tuple(r) for r in audit] == [("alice@ops1", "cli", "config.apply", f"config:{first.version.version}")]


async def test_a_bad_file_changes_nothing_and_says_why(db: Database) -> None:
    await config_versions.apply_text(db, GOOD, "tocsin.yml", "alice", "cli")
    bad = edited(routes=[{"id": "all", "escalation": "nosuch"}])
    with pytest.raises(ConfigFileError) as refused:
        await config_versions.apply_text(db, bad, "tocsin.yml", "alice", "cli")
    assert refused.value.lines == ["tocsin.yml: routes[0].escalation: unknown escalation policy 'nosuch'; "
                                   "expected the id of one of escalation_policies"]
    assert len(await stored_versions(db)) == 1


async def test_every_replica_switches_within_seconds(database_url: str, db: Database) -> None:
    async with replicas(database_url) as (one, two):
        assert one.runtime.config.users == () and two.runtime.config_version is None
        applied = await config_versions.apply_text(db, GOOD, "tocsin.yml", "alice", "cli")

        async def both_switched() -> bool:
            return all(r.runtime.config_version == applied.version.version for r in (one, two))

        await eventually(both_switched, 30, "both replicas on the new version (NOTIFY; the periodic check is 60 s)")
        assert [u.id for u in two.runtime.config.users] == ["alice", "bob", "carol"]


async def test_a_version_this_replica_cannot_apply_is_reported_and_changes_nothing(db: Database) -> None:
    live = LiveConfig(Runtime(db=db, config=Config()), Config(), None)
    await config_versions.apply_text(db, GOOD, "tocsin.yml", "alice", "cli")
    assert await live.refresh() and live.runtime.config_version == 1
    before = live.runtime.config
    # Another replica (with a newer time zone database) stored a version naming a zone this one lacks.
    schedules = [{**CONFIG_DATA["schedules"][0], "timezone": "Mars/Olympus_Mons"}]
    async with db.transaction() as conn:
        text = edited(schedules=schedules)
        await versions_sql.insert(conn, text, config_versions.sha256(text), "tocsin.yml", "bob", "cli", T0)
    assert not await live.refresh()
    assert live.runtime.config is before and live.runtime.config_version == 1
    assert live.runtime.config_problem == (
        "config version 2 cannot be applied on this replica: config version 2: schedules[0].timezone: unknown time "
        "zone 'Mars/Olympus_Mons'; expected an IANA time zone such as Europe/Berlin")
    await config_versions.apply_text(db, edited(routes=[]), "tocsin.yml", "alice", "cli")
    assert await live.refresh() and live.runtime.config_version == 3 and live.runtime.config_problem is None


async def test_a_replica_starting_takes_the_newest_version_it_can_apply(db: Database) -> None:
    await config_versions.apply_text(db, GOOD, "tocsin.yml", "alice", "cli")
    schedules = [{**CONFIG_DATA["schedules"][0], "timezone": "Mars/Olympus_Mons"}]
    text = edited(schedules=schedules)
    async with db.transaction() as conn:
        await versions_sql.insert(conn, text, config_versions.sha256(text), "tocsin.yml", "bob", "cli", T0)
    live = LiveConfig(Runtime(db=db, config=Config()), Config(), None)
    assert await live.refresh()
    assert live.runtime.config_version == 1 and [u.id for u in live.runtime.config.users] == ["alice", "bob", "carol"]
    assert (live.runtime.config_problem or "").startswith("config version 2 cannot be applied on this replica: ")
    assert not await live.refresh()  # the refused version is not parsed again and again


async def test_serve_stores_an_edited_file_only(db: Database) -> None:
    started = await config_versions.apply_at_start(db, GOOD, "tocsin.yml", "tocsin serve on a")
    assert started is not None and started.version.applied_via == "serve"
    assert await config_versions.apply_at_start(db, GOOD, "tocsin.yml", "tocsin serve on b") is None
    newer = await config_versions.apply_text(db, edited(routes=[]), "other.yml", "alice", "cli")
    # A replica restarting with the old file does not undo the newer apply.
    assert await config_versions.apply_at_start(db, GOOD, "tocsin.yml", "tocsin serve on c") is None
    assert (await config_versions.current(db)).version == newer.version.version  # type: ignore[union-attr]


async def fired_step_one_then_changed(db: Database, second_after: str) -> tuple[LiveConfig, Clock, int]:
    """An incident whose step 1 fired under version 1; then version 2 moves step 2 to `second_after` (to alice)."""
    clock = Clock(T0)
    live = LiveConfig(Runtime(db=db, config=Config(), clock=clock), Config(), None)
    await config_versions.apply_text(db, GOOD, "tocsin.yml", "alice", "cli")
    await live.refresh()
    incident = await open_incident(db, live.runtime.config, clock)
    await escalation.escalate_due(db, live.runtime.config, clock.now)  # step 1 (0m) fires under version 1
    policy = {"id": "default", "steps": [{"after": "0m", "notify": ["schedule:primary"]},
                                         {"after": second_after, "notify": ["user:alice"]}]}
    await config_versions.apply_text(db, edited(escalation_policies=[policy]), "tocsin.yml", "alice", "cli")
    await live.refresh()  # replans: step 2 was planned at 15m under version 1
    return live, clock, incident


async def test_an_escalation_in_flight_follows_the_new_policy_from_its_next_step(db: Database) -> None:
    live, clock, incident = await fired_step_one_then_changed(db, "5m")
    clock.now = T0 + timedelta(minutes=6)
    await escalation.escalate_due(db, live.runtime.config, clock.now)  # due at 5m under version 2
    fired = await escalations(db, incident)
    assert [e["data"]["step"] for e in fired] == [1, 2]
    assert fired[1]["data"]["targets"][0]["id"] == "alice"
    clock.now = T0 + timedelta(hours=2)
    await escalation.escalate_due(db, live.runtime.config, clock.now)
    assert len(await escalations(db, incident)) == 2  # version 2 has no repeat: nothing more


async def test_a_policy_planned_later_by_the_new_version_waits(db: Database) -> None:
    live, clock, incident = await fired_step_one_then_changed(db, "40m")
    clock.now = T0 + timedelta(minutes=16)
    await escalation.escalate_due(db, live.runtime.config, clock.now)
    assert len(await escalations(db, incident)) == 1  # 15m under version 1, 40m under version 2
    clock.now = T0 + timedelta(minutes=41)
    await escalation.escalate_due(db, live.runtime.config, clock.now)
    assert len(await escalations(db, incident)) == 2


async def test_an_escalation_whose_policy_the_new_version_removes_stops(db: Database) -> None:
    clock = Clock(T0)
    live = LiveConfig(Runtime(db=db, config=Config(), clock=clock), Config(), None)
    await config_versions.apply_text(db, GOOD, "tocsin.yml", "alice", "cli")
    await live.refresh()
    incident = await open_incident(db, live.runtime.config, clock)
    await escalation.escalate_due(db, live.runtime.config, clock.now)  # step 1 fires under version 1
    calm = {"id": "calm", "steps": [{"after": "0m", "notify": ["user:bob"]}]}
    routes = [{**CONFIG_DATA["routes"][0], "escalation": "calm"}]
    await config_versions.apply_text(db, edited(escalation_policies=[calm], routes=routes), "t.yml", "alice", "cli")
    assert await live.refresh() and live.runtime.config.policy("default") is None
    clock.now = T0 + timedelta(hours=2)
    await escalation.escalate_due(db, live.runtime.config, clock.now)
    assert [e["data"]["step"] for e in await escalations(db, incident)] == [1]  # neither default's nor calm's
    async with db.connection() as conn:
        state = await conn.fetchval("SELECT state FROM incident_escalations WHERE incident_id = $1", incident)
    assert state == "stopped"


async def test_concurrent_applies_make_one_version_each_in_order(db: Database) -> None:
    texts = [edited(routes=[{"id": f"r{i}"}]) for i in range(5)]
    await asyncio.gather(*(config_versions.apply_text(db, t, "f.yml", "x", "cli") for t in texts))
    assert sorted(await stored_versions(db)) == [1, 2, 3, 4, 5]
