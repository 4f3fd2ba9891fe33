"""The dashboard's live stream: an ingest on any connection reaches the viewers' event streams; per-day MTTA/MTTR."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from store.db import Database
from store.sql import stats as stats_sql
from tests.support.api import running_app, seed_incident
from tests.support.dashboard import alert_group
from web.dashboard.live import Hub, stream

READ_SECONDS = 20


async def next_event(connection: object, buffer: bytearray) -> tuple[str, str]:
    """The next server-sent event (name, data) on a streaming test connection, skipping comments."""
    while True:
        end = buffer.find(b"\n\n")
        if end >= 0:
            block, buffer[:] = bytes(buffer[:end]), buffer[end + 2:]
            fields = dict(line.split(": ", 1) for line in block.decode().splitlines() if ": " in line
                          and not line.startswith(":"))
            if "event" in fields:
                return fields["event"], fields.get("data", "")
            continue
        buffer.extend(await asyncio.wait_for(connection.receive(), READ_SECONDS))  # type: ignore[attr-defined]


async def test_an_ingest_reaches_the_event_stream(database_url: str) -> None:
    async with (
        running_app(database_url, anonymous_read=True) as (_, client),
        client.request("/dashboard/events") as connection,
    ):
        await connection.send_complete()
        buffer = bytearray()
        assert await next_event(connection, buffer) == ("ready", "{}")
        assert connection.headers["Content-Type"] == "text/event-stream"
        posted = await client.post("/api/v1/webhooks/alertmanager", json=alert_group("LiveOne"))
        (incident_id,) = (await posted.get_json())["incidents"]
        name, data = await next_event(connection, buffer)
        assert name == "change"
        assert incident_id in json.loads(data)["incidents"]
        assert "opened" in json.loads(data)["kinds"]
        await connection.disconnect()


async def test_an_incident_stream_hears_only_its_incident(database_url: str) -> None:
    async with running_app(database_url, anonymous_read=True) as (_, client):
        first = await client.post("/api/v1/webhooks/alertmanager", json=alert_group("Watched"))
        (watched,) = (await first.get_json())["incidents"]
        async with client.request(f"/dashboard/events?incident={watched}") as connection:
            await connection.send_complete()
            buffer = bytearray()
            assert (await next_event(connection, buffer))[0] == "ready"
            await client.post("/api/v1/webhooks/alertmanager", json=alert_group("Other"))
            resolved = alert_group("Watched")
            for alert in resolved["alerts"]:
                alert["status"] = "resolved"
                alert["endsAt"] = "2026-11-26T20:00:00Z"
            resolved["status"] = "resolved"
            await client.post("/api/v1/webhooks/alertmanager", json=resolved)
            name, data = await next_event(connection, buffer)  # the other incident's change was not sent
            assert name == "change"
            assert json.loads(data)["incidents"] == [watched]
            await connection.disconnect()


async def test_the_hub_ends_streams_when_the_server_stops_and_resyncs_a_slow_viewer(database_url: str) -> None:
    hub = Hub(database_url)
    queue = await hub.subscribe()
    assert queue is not None
    events = stream(hub, queue, None)
    assert (await anext(events)).endswith(b"event: ready\ndata: {}\n\n")
    for n in range(200):  # more than the queue holds: the viewer gets one resync instead
        hub._publish(json.dumps({"incidents": [n], "kinds": ["opened"]}))
    assert await anext(events) == b"event: resync\ndata: {}\n\n"
    hub.close()
    assert [chunk async for chunk in events] == []
    assert hub.queues == set()
    assert await hub.subscribe() is None  # closed: no new streams
    await hub.stop()


async def test_daily_durations_average_each_day_of_creation(db: Database) -> None:
    day = datetime(2026, 11, 20, 10, tzinfo=UTC)
    for n, (ack, res) in enumerate([(60, 600), (180, None), (None, None)]):
        await seed_incident(
            db, group_key=f"g{n}", created_at=day, triggered_at=day,
            acknowledged_at=day + timedelta(seconds=ack) if ack else None,
            resolved_at=day + timedelta(seconds=res) if res else None,
            status="resolved" if res else ("acknowledged" if ack else "triggered"),
        )
    await seed_incident(db, group_key="later", created_at=day + timedelta(days=2), triggered_at=day + timedelta(days=2))
    async with db.connection() as conn:
        rows = await stats_sql.daily_durations(conn, day - timedelta(days=1), day + timedelta(days=3))
    assert rows == [(day.date(), 120.0, 600.0), ((day + timedelta(days=2)).date(), None, None)]
