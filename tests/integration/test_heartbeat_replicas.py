"""A missing heartbeat opens its incident once across two schedulers on one database, and once after a pause."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from store import heartbeats
from store.db import Database
from store.domain.config_schema import parse_config
from tests.integration.test_escalation import instances
from tests.support.escalation import Clock
from tests.support.oncall import T0

CONFIG = parse_config({
    "routes": [{"id": "heartbeats", "match": ['alertname="HeartbeatMissing"'], "slack_channel": "C0HB"}],
    "heartbeats": [{"id": "alertmanager", "timeout": "5m"}, {"id": "backup", "timeout": "1h"}],
})


async def incidents(db: Database) -> list[tuple[str, str]]:
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT title, status FROM incidents ORDER BY id")
    return [(r["title"], r["status"]) for r in rows]


async def test_two_schedulers_open_each_missing_heartbeat_once(database_url: str, db: Database) -> None:
    await heartbeats.ping(db, CONFIG, "alertmanager", Clock(T0))
    await heartbeats.ping(db, CONFIG, "backup", Clock(T0))
    async with instances(database_url, 2) as pools:
        for minute in range(0, 181, 3):  # every 3 minutes for 3 hours, both at once
            at = T0 + timedelta(minutes=minute)
            await asyncio.gather(*(heartbeats.check_due(p, CONFIG, at) for p in pools))
    assert await incidents(db) == [("No heartbeat from alertmanager since 2026-11-26 19:00:00 UTC", "triggered"),
                                   ("No heartbeat from backup since 2026-11-26 19:00:00 UTC", "triggered")]
    async with db.connection() as conn:
        openings = await conn.fetchval("SELECT count(*) FROM incident_events WHERE kind = 'opened'")
    assert openings == 2
    await heartbeats.ping(db, CONFIG, "backup", Clock(T0 + timedelta(hours=4)))
    assert [status for _, status in await incidents(db)] == ["triggered", "resolved"]
