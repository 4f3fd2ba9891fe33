"""POST /api/v1/incidents/{id}/silence: Alertmanager silences per firing alert, recorded on the timeline."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web

from store.db import Database
from tests.conftest import load_sample
from tests.support.api import api_settings, bearer
from tests.support.loopback import serve
from web.app import create_app

SAMPLE = "01_firing_group_2alerts_amtool.json"


class FakeAlertmanager:
    """Records POST /api/v2/silences and answers with an id, or with `status` when set."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.status = 200

    async def handle(self, request: web.Request) -> web.Response:
        if self.status != 200:
            return web.Response(status=self.status, text="boom")
        self.posted.append(await request.json())
        return web.json_response({"silenceID": f"s-{len(self.posted)}"})


@asynccontextmanager
async def fake_alertmanager() -> AsyncIterator[tuple[FakeAlertmanager, str]]:
    fake = FakeAlertmanager()
    app = web.Application()
    app.router.add_post("/api/v2/silences", fake.handle)
    runner, port = await serve(app)
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def client_with(database_url: str, alertmanager_url: str | None) -> AsyncIterator[Any]:
    app = create_app(replace(api_settings(database_url), alertmanager_url=alertmanager_url), database_url)
    async with app.test_app():
        yield app.test_client()


async def _fire(client: Any) -> int:
    posted = await client.post("/api/v1/webhooks/alertmanager", json=load_sample(SAMPLE))
    return (await posted.get_json())["incidents"][0]


async def test_silence_posts_one_silence_per_firing_alert_and_records_it(database_url: str, db: Database) -> None:
    headers = await bearer(db, "responder", "ops", user="alice")
    async with fake_alertmanager() as (am, url), client_with(database_url, url) as client:
        incident_id = await _fire(client)
        answer = await client.post(f"/api/v1/incidents/{incident_id}/silence", json={"duration": "2h"}, headers=headers)
        assert answer.status_code == 201, await answer.get_data()
        event = await answer.get_json()
        detail = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=headers)).get_json()
    assert event["kind"] == "silenced" and event["data"]["duration"] == "2h"
    assert event["data"]["silence_id"] == "s-1" and event["data"]["silence_ids"] == ["s-1", "s-2"]
    label_sets = [{m["name"]: m["value"] for m in body["matchers"]} for body in am.posted]
    assert label_sets == [a["labels"] for a in detail["alerts"]]
    first = am.posted[0]
    assert all(m["isEqual"] and not m["isRegex"] for m in first["matchers"])
    assert first["comment"] == f"Tocsin incident #{incident_id}" and first["createdBy"] == event["actor"]
    span = datetime.fromisoformat(first["endsAt"]) - datetime.fromisoformat(first["startsAt"])
    assert span.total_seconds() == 7200
    assert datetime.fromisoformat(event["data"]["ends_at"]) == datetime.fromisoformat(first["endsAt"])
    assert detail["timeline"][-1]["kind"] == "silenced"


async def test_bad_duration_resolved_incident_and_no_alertmanager(database_url: str, db: Database) -> None:
    headers = await bearer(db, "responder", "ops", user="alice")
    async with fake_alertmanager() as (am, url), client_with(database_url, url) as client:
        incident_id = await _fire(client)
        for bad in ("1y", "0m", "31d", "", 5):
            answer = await client.post(f"/api/v1/incidents/{incident_id}/silence", json={"duration": bad},
                                       headers=headers)
            assert answer.status_code == 422, bad
            assert (await answer.get_json())["error"]["details"][0]["field"] == "duration"
        am.status = 500
        failed = await client.post(f"/api/v1/incidents/{incident_id}/silence", json={"duration": "1h"},
                                   headers=headers)
        assert failed.status_code == 503 and "HTTP 500" in (await failed.get_json())["error"]["message"]
        await client.post(f"/api/v1/incidents/{incident_id}/resolve", json={}, headers=headers)
        am.status = 200
        resolved = await client.post(f"/api/v1/incidents/{incident_id}/silence", json={"duration": "1h"},
                                     headers=headers)
        assert resolved.status_code == 409 and "already resolved" in (await resolved.get_json())["error"]["message"]
        detail = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=headers)).get_json()
    assert am.posted == [] and "silenced" not in [e["kind"] for e in detail["timeline"]]
    async with client_with(database_url, None) as client:
        other = await _fire(client)
        unset = await client.post(f"/api/v1/incidents/{other}/silence", json={"duration": "1h"}, headers=headers)
        assert unset.status_code == 409
        assert "ALERTMANAGER_URL is not set" in json.dumps(await unset.get_json())
        spec = await (await client.get("/api/v1/openapi.json", headers=headers)).get_json()
    assert "/api/v1/incidents/{id}/silence" in spec["paths"]
