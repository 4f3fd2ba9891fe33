"""Handoff announcements against real PostgreSQL: once across three scheduler instances, only when recent."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from store import escalation, overrides
from store.db import Database
from store.domain.overrides import with_overrides
from store.domain.schedule import Announce
from store.domain.tokens import Role
from store.sql import escalations as escalations_sql
from tests.integration.test_escalation import instances
from tests.support.escalation import T0, make_config

HANDOFF = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # Fri 27 Nov 09:00 in Berlin: alice takes over from bob


async def announced(db: Database) -> list[escalations_sql.HandoffAnnouncement]:
    async with db.connection() as conn:
        return await escalations_sql.list_handoffs(conn, "primary")


async def test_handoff_announced_once_by_three_instances(database_url: str, db: Database) -> None:
    config = make_config()
    async with instances(database_url) as pools:
        now = HANDOFF + timedelta(seconds=3)
        results = []
        while now < HANDOFF + timedelta(hours=2):
            rounds = await asyncio.gather(*(escalation.announce_handoffs(p, config, now) for p in pools))
            results += [row for found in rounds for row in found]
            now += timedelta(seconds=20)
    assert len(results) == 1
    (row,) = await announced(db)
    assert row == results[0]
    assert (row.handoff_at, row.user_id, row.until) == (HANDOFF, "alice", HANDOFF + timedelta(days=1))
    assert (row.slack_channel, row.telegram_chat) == ("C0OPS", "-1001")
    assert row.message == "Handoff in primary: Alice Example is on call until Sat 28 Nov 09:00 CET"


async def test_each_handoff_once_and_old_ones_never(db: Database) -> None:
    config = make_config()
    assert await escalation.announce_handoffs(db, config, T0) == []  # 11 hours after bob's handoff: too old
    for day in range(3):
        for minute in (0, 1, 30):
            await escalation.announce_handoffs(db, config, HANDOFF + timedelta(days=day, minutes=minute))
    assert [(r.handoff_at, r.user_id) for r in await announced(db)] == [
        (HANDOFF, "alice"),
        (HANDOFF + timedelta(days=1), "bob"),
        (HANDOFF + timedelta(days=2), "alice"),
    ]


async def test_schedule_without_announce_channels_is_not_announced(db: Database) -> None:
    config = make_config()
    quiet = replace(config, schedules=tuple(replace(s, announce=Announce()) for s in config.schedules))
    assert await escalation.announce_handoffs(db, quiet, HANDOFF) == []
    assert await announced(db) == []


async def test_a_stored_override_is_announced_as_a_handoff(db: Database) -> None:
    config = make_config()
    start = T0 + timedelta(hours=1)  # bob's day; carol takes over for three hours from the API or chat
    acting = overrides.Acting("alice", "alice", Role.ADMIN, "api")
    await overrides.add_override(db, config, "primary", "carol", start, start + timedelta(hours=3), acting)
    merged = with_overrides(config, await overrides.live_overrides(db, T0 - timedelta(days=1)))
    await escalation.announce_handoffs(db, merged, start + timedelta(seconds=5))
    await escalation.announce_handoffs(db, merged, start + timedelta(hours=3, seconds=5))
    assert [(r.handoff_at, r.user_id, r.message) for r in await announced(db)] == [
        (start, "carol", "Handoff in primary: Carol is on call until Fri 27 Nov 00:03 CET"),
        (start + timedelta(hours=3), "bob", "Handoff in primary: Bob Example is on call until Fri 27 Nov 09:00 CET"),
    ]
