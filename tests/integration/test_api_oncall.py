"""The API of heartbeats, maintenance windows and the acknowledgement actions, through the app, with its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from store import heartbeats
from store.db import Database
from store.domain.config_schema import Config, parse_config
from tests.support.api import api_settings, bearer
from tests.support.escalation import Clock
from tests.support.oncall import T0, alert, incident_row, ingest, webhook
from web.app import create_app
from webhook.settings import WebhookSettings

TOKEN = "webhook-token-0123456789"
OWN = "heartbeat-own-token-0123"
CONFIG = {
    "users": [{"id": "alice", "name": "Alice Example", "slack_id": "U01ALICE"},
              {"id": "bob", "name": "Bob Example", "email": "bob@example.com"}],
    "escalation_policies": [{"id": "now", "steps": [{"after": "0m", "notify": ["user:alice"]},
                                                    {"after": "10m", "notify": ["user:bob"]}]}],
    "routes": [{"id": "db", "match": ['service="db"'], "escalation": "now", "slack_channel": "C0DB"},
               {"id": "heartbeats", "match": ['alertname="HeartbeatMissing"'], "escalation": "now"}],
    "heartbeats": [{"id": "alertmanager", "timeout": "5m", "labels": {"severity": "critical"}, "token": OWN},
                   {"id": "backup", "timeout": "1d"}],
    "maintenance": [{"id": "saturday-db", "match": ['service="db"'], "weekly": "Sat 02:00", "duration": "2h",
                     "timezone": "Europe/Berlin"}],
}


@asynccontextmanager
async def serving(database_url: str, config: Config | None = None) -> AsyncIterator[tuple[Any, Any, Clock]]:
    settings = replace(api_settings(database_url), webhook=WebhookSettings(token=TOKEN))
    app = create_app(settings, database_url, config=config or parse_config(CONFIG))
    clock = Clock(T0)
    async with app.test_app():
        app.extensions["tocsin"].clock = clock
        yield app, app.test_client(), clock


def ping_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_heartbeats_are_pinged_listed_and_muted(database_url: str, db: Database) -> None:
    reader, responder = await bearer(db, "viewer"), await bearer(db, "responder")
    writer = await bearer(db, "admin")  # muting a heartbeat is an admin's (issue 21's roles)
    async with serving(database_url) as (_, client, clock):
        refused = await client.post("/api/v1/heartbeats/alertmanager/mute", headers=responder, json={"duration": "2h"})
        assert refused.status_code == 403
        listed = await (await client.get("/api/v1/heartbeats", headers=reader)).get_json()
        assert [(h["id"], h["status"], h["timeout_seconds"]) for h in listed["items"]] == [
            ("alertmanager", "inactive", 300), ("backup", "inactive", 86400)]
        assert OWN not in str(listed)
        for token in (TOKEN, OWN):
            answer = await client.post("/api/v1/heartbeats/alertmanager", headers=ping_headers(token), data="x")
            assert answer.status_code == 200
            assert await answer.get_json() == {"id": "alertmanager", "counted": True, "status": "up",
                                               "last_seen_at": "2026-11-26T19:00:00Z"}
        refused = await client.post("/api/v1/heartbeats/backup", headers=ping_headers(OWN))  # not backup's token
        assert refused.status_code == 401 and (await refused.get_json())["error"]["code"] == "unauthorized"
        assert (await client.post("/api/v1/heartbeats/alertmanager")).status_code == 401
        unknown = await client.post("/api/v1/heartbeats/nope", headers=ping_headers(TOKEN))
        assert unknown.status_code == 404
        resolved = webhook([alert("w", {"alertname": "Watchdog"}, T0, "resolved")])
        answer = await client.post("/api/v1/heartbeats/backup", headers=ping_headers(TOKEN), json=resolved)
        assert (await answer.get_json())["counted"] is False
        muted = await client.post("/api/v1/heartbeats/alertmanager/mute", headers=writer, json={"duration": "2h"})
        assert (await muted.get_json())["status"] == "muted"
        assert (await muted.get_json())["muted_until"] == "2026-11-26T21:00:00Z"
        bad = await client.post("/api/v1/heartbeats/alertmanager/mute", headers=writer, json={"duration": "soon"})
        assert bad.status_code == 422 and (await bad.get_json())["error"]["details"][0]["field"] == "duration"
        clock.now = T0 + timedelta(hours=1)
        assert await heartbeats.check_due(db, parse_config(CONFIG), clock.now) == []  # muted: no incident
        unmuted = await client.post("/api/v1/heartbeats/alertmanager/unmute", headers=writer)
        assert (await unmuted.get_json())["status"] == "up"
        forbidden = await client.post("/api/v1/heartbeats/alertmanager/unmute", headers=reader)
        assert forbidden.status_code == 403


async def test_a_silent_heartbeat_opens_an_incident_through_its_route_and_a_ping_resolves_it(
    database_url: str, db: Database
) -> None:
    config = parse_config(CONFIG)
    async with serving(database_url, config) as (_, client, clock):
        await client.post("/api/v1/heartbeats/alertmanager", headers=ping_headers(OWN), json=webhook(
            [alert("w", {"alertname": "Watchdog"}, T0)]))
        assert await heartbeats.check_due(db, config, T0 + timedelta(minutes=4)) == []
        # Down for an hour: the check comes back and opens one incident, not one per missed timeout.
        assert await heartbeats.check_due(db, config, T0 + timedelta(hours=1)) == ["alertmanager"]
        assert await heartbeats.check_due(db, config, T0 + timedelta(hours=1, seconds=1)) == []
        async with db.connection() as conn:
            incident_id = await conn.fetchval("SELECT id FROM incidents")
        row = await incident_row(db, incident_id)
        assert (row["title"], row["route_id"], row["status"]) == (
            "No heartbeat from alertmanager since 2026-11-26 19:00:00 UTC", "heartbeats", "triggered")
        assert row["labels"]["heartbeat"] == "alertmanager" and row["labels"]["severity"] == "critical"
        listed = await (await client.get("/api/v1/heartbeats", headers=await bearer(db, "viewer"))).get_json()
        assert listed["items"][0]["status"] == "down"
        assert listed["items"][0]["down_since"] == "2026-11-26T19:05:00Z"
        clock.now = T0 + timedelta(hours=1, minutes=2)
        await client.post("/api/v1/heartbeats/alertmanager", headers=ping_headers(TOKEN))
        assert (await incident_row(db, incident_id))["status"] == "resolved"


async def test_maintenance_windows_through_the_api(database_url: str, db: Database) -> None:
    writer, reader = await bearer(db, "admin"), await bearer(db, "viewer")
    responder = await bearer(db, "responder")
    async with serving(database_url) as (_, client, clock):
        window = {"match": ['a="b"'], "duration": "1h"}
        refused = await client.post("/api/v1/maintenance", headers=responder, json=window)
        assert refused.status_code == 403  # maintenance windows are an admin's (issue 21's roles)
        made = await client.post("/api/v1/maintenance", headers=writer,
                                 json={"match": ['service="db"', 'instance=~"db-.*"'], "duration": "2h",
                                       "comment": "disk swap"})
        assert made.status_code == 201
        window = await made.get_json()
        assert (window["id"], window["source"], window["from"], window["until"], window["active"]) == (
            "mw-1", "api", "2026-11-26T19:00:00Z", "2026-11-26T21:00:00Z", True)
        assert window["created_by"] == "token:admin-token"
        listed = await (await client.get("/api/v1/maintenance", headers=reader)).get_json()
        assert [(w["id"], w["source"]) for w in listed["items"]] == [("saturday-db", "config"), ("mw-1", "api")]
        assert listed["items"][0]["rrule"] == "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0;BYSECOND=0"
        (incident_id,) = await ingest(db, parse_config(CONFIG), T0 + timedelta(minutes=5),
                                      [alert("f1", {"service": "db", "instance": "db-1"}, T0)])
        shown = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=reader)).get_json()
        assert (shown["maintenance"], shown["flapping"]) == ("mw-1", False)
        clock.now = T0 + timedelta(minutes=30)
        ended = await client.delete("/api/v1/maintenance/mw-1", headers=writer)
        assert ended.status_code == 200 and (await ended.get_json())["until"] == "2026-11-26T19:30:00Z"
        assert (await incident_row(db, incident_id))["maintenance_id"] is None
        for path, status in (("/api/v1/maintenance/mw-1", 409), ("/api/v1/maintenance/saturday-db", 409),
                             ("/api/v1/maintenance/mw-77", 404)):
            assert (await client.delete(path, headers=writer)).status_code == status


@pytest.mark.parametrize(("body", "field"), [
    ({"match": ['service=~"("'], "duration": "1h"}, "match[0]"),
    ({"match": [], "duration": "1h"}, "match"),
    ({"match": ['a="b"']}, "duration"),
    ({"match": ['a="b"'], "duration": "45d"}, "duration"),
    ({"match": ['a="b"'], "from": "2026-11-26T20:00:00Z", "until": "2026-11-26T19:30:00Z"}, "until"),
    ({"match": ['a="b"'], "duration": "1h", "silence": "yes"}, "silence"),
    ({"match": 'a="b"', "duration": "1h"}, "match"),
    ({"match": ['a="b"'], "duration": "1h", "extra": 1}, "extra"),
])
async def test_bad_windows_answer_422_naming_the_field(database_url: str, db: Database, body: dict,
                                                       field: str) -> None:
    writer = await bearer(db, "admin")
    async with serving(database_url) as (_, client, _clock):
        answer = await client.post("/api/v1/maintenance", headers=writer, json=body)
        assert answer.status_code == 422, await answer.get_json()
        assert (await answer.get_json())["error"]["details"][0]["field"] == field


async def test_the_acknowledgement_actions_through_the_api(database_url: str, db: Database) -> None:
    writer = await bearer(db, "responder", user="alice")
    config = parse_config({**CONFIG, "maintenance": []})
    async with serving(database_url, config) as (_, client, _clock):
        (incident_id,) = await ingest(db, config, T0, [alert("f1", {"service": "db"}, T0)])
        base = f"/api/v1/incidents/{incident_id}"
        answer = await client.post(f"{base}/unacknowledge", headers=writer)
        assert answer.status_code == 409
        assert (await answer.get_json())["error"]["message"] == (
            f"cannot unacknowledge #{incident_id}: #{incident_id} was triggered")
        snoozed = await (await client.post(f"{base}/snooze", headers=writer, json={"duration": "1h"})).get_json()
        assert (snoozed["status"], snoozed["acknowledged_by"]) == ("acknowledged", "alice")
        reassigned = await client.post(f"{base}/reassign", headers=writer, json={"to": "bob"})
        assert (await reassigned.get_json())["acknowledged_by"] == "bob"
        unknown = await client.post(f"{base}/reassign", headers=writer, json={"to": "mallory"})
        assert unknown.status_code == 422 and (await unknown.get_json())["error"]["details"][0]["field"] == "to"
        escalated = await client.post(f"{base}/escalate", headers=writer)
        assert (await escalated.get_json())["status"] == "triggered"
        assert (await (await client.post(f"{base}/unacknowledge", headers=writer)).get_json())["error"]
        acked = await client.post(f"{base}/acknowledge", headers=writer, json={})
        assert (await acked.get_json())["status"] == "acknowledged"
        back = await client.post(f"{base}/unacknowledge", headers=writer)
        assert (await back.get_json())["status"] == "triggered"
        bad = await client.post(f"{base}/snooze", headers=writer, json={"duration": "forever"})
        assert bad.status_code == 422
        await client.post(f"{base}/resolve", headers=writer, json={})
        for action, body in (("snooze", {"duration": "1h"}), ("reassign", {"to": "bob"}), ("escalate", None)):
            answer = await client.post(f"{base}/{action}", headers=writer, json=body)
            assert answer.status_code == 409, action
            assert f"cannot {action} #{incident_id}: #{incident_id} was already resolved by alice" in (
                await answer.get_json())["error"]["message"]
        async with db.connection() as conn:
            kinds = [r["kind"] for r in await conn.fetch(
                "SELECT kind FROM incident_events WHERE incident_id = $1 ORDER BY id", incident_id)]
        for kind in ("snoozed", "reassigned", "escalated", "unacknowledged"):
            assert kind in kinds


async def test_metrics_show_heartbeats_and_quiet_incidents(database_url: str, db: Database) -> None:
    config = parse_config(CONFIG)
    async with serving(database_url, config) as (_, client, _clock):
        await client.post("/api/v1/heartbeats/alertmanager", headers=ping_headers(TOKEN))
        await heartbeats.check_due(db, config, T0 + timedelta(minutes=6))
        window = {"match": ['service="db"'], "duration": "1h"}
        await client.post("/api/v1/maintenance", headers=await bearer(db, "admin"), json=window)
        await ingest(db, config, T0, [alert("f1", {"service": "db"}, T0)])
        text = await (await client.get("/metrics")).get_data(as_text=True)
    assert 'tocsin_heartbeat_last_seen_timestamp_seconds{heartbeat="alertmanager"} 1.7957196e+09' in text  # T0
    assert 'tocsin_heartbeat_down{heartbeat="alertmanager"} 1.0' in text
    assert 'tocsin_heartbeat_down{heartbeat="backup"} 0.0' in text
    assert 'heartbeat="backup"} 1' not in text.split("tocsin_heartbeat_last_seen")[1].split("# HELP")[0]
    assert 'tocsin_quiet_incidents{reason="maintenance"} 1.0' in text
