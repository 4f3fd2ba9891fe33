"""POST /api/v1/webhooks/alertmanager over HTTP: token, content type, size, bad bodies, leniency, concurrency."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Quart

from tests.conftest import load_sample
from web.app import create_app
from web.settings import load_settings

URL = "/api/v1/webhooks/alertmanager"
TOKEN = "s3cret-webhook-token"


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Quart]:
    settings = load_settings({"WEBHOOK_TOKEN": TOKEN, "WEBHOOK_MAX_BYTES": "4096", "DATABASE_URL": database_url})
    application = create_app(settings, database_url)
    async with application.test_app():
        yield application


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def table_counts(app: Quart) -> tuple[int, int]:
    async with app.extensions["tocsin"].db.connection() as conn:
        return await conn.fetchval("SELECT count(*) FROM incidents"), await conn.fetchval("SELECT count(*) FROM alerts")


async def test_stores_a_real_webhook_and_answers_with_incident_ids(app: Quart) -> None:
    client = app.test_client()
    response = await client.post(URL, json=load_sample("01_firing_group_2alerts_amtool.json"), headers=auth())
    assert response.status_code == 200
    body = await response.get_json()
    assert len(body["incidents"]) == 1 and body["skipped"] == []
    assert await table_counts(app) == (1, 2)


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [({}, "missing bearer token"), (auth("wrong"), "wrong bearer token"), ({"Authorization": "Basic x"}, "missing")],
)
async def test_token_is_checked(app: Quart, headers: dict[str, str], fragment: str) -> None:
    response = await app.test_client().post(URL, json=load_sample("05_firing_from_prometheus.json"), headers=headers)
    assert response.status_code == 401
    error = (await response.get_json())["error"]
    assert error["code"] == "unauthorized" and fragment in error["message"]
    assert TOKEN not in json.dumps(error)
    assert await table_counts(app) == (0, 0)


async def test_wrong_content_type_is_415(app: Quart) -> None:
    body = json.dumps(load_sample("05_firing_from_prometheus.json"))
    response = await app.test_client().post(URL, data=body, headers={**auth(), "Content-Type": "text/plain"})
    assert response.status_code == 415
    assert (await response.get_json())["error"]["code"] == "unsupported_media_type"


async def test_body_over_the_limit_is_413(app: Quart) -> None:
    body = load_sample("05_firing_from_prometheus.json")
    body["alerts"][0]["annotations"]["description"] = "x" * 5000
    response = await app.test_client().post(URL, json=body, headers=auth())
    assert response.status_code == 413
    assert "WEBHOOK_MAX_BYTES" in (await response.get_json())["error"]["message"]
    assert await table_counts(app) == (0, 0)


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b"[" * 3000 + b"]" * 3000])
async def test_unparseable_body_is_400(app: Quart, raw: bytes) -> None:
    headers = {**auth(), "Content-Type": "application/json"}
    response = await app.test_client().post(URL, data=raw, headers=headers)
    assert response.status_code in (400, 413)
    assert (await response.get_json())["error"]["code"] in ("invalid_json", "payload_too_large")


async def test_wrong_shape_is_422_with_details(app: Quart) -> None:
    response = await app.test_client().post(URL, json={"alerts": {"a": 1}}, headers=auth())
    assert response.status_code == 422
    error = (await response.get_json())["error"]
    assert error["code"] == "invalid_payload" and error["details"][0]["field"] == "alerts"


async def test_odd_alerts_are_skipped_and_the_rest_stored(app: Quart) -> None:
    body = load_sample("02_firing_group_3alerts_curl_added.json")
    body["alerts"][2]["startsAt"] = "soon"
    response = await app.test_client().post(URL, json=body, headers=auth())
    assert response.status_code == 200
    answer = await response.get_json()
    assert answer["skipped"] == [{"index": 2, "reason": "startsAt must be an RFC 3339 time, got 'soon'"}]
    assert await table_counts(app) == (1, 2)


async def test_a_body_of_only_bad_alerts_is_422(app: Quart) -> None:
    body = load_sample("05_firing_from_prometheus.json")
    body["alerts"][0]["labels"] = "x"
    response = await app.test_client().post(URL, json=body, headers=auth())
    assert response.status_code == 422
    assert (await response.get_json())["error"]["details"][0]["index"] == 0


async def test_hundred_simultaneous_posts_of_one_new_group(app: Quart) -> None:
    client = app.test_client()
    body = load_sample("02_firing_group_3alerts_curl_added.json")
    responses = await asyncio.gather(*(client.post(URL, json=body, headers=auth()) for _ in range(100)))
    assert {r.status_code for r in responses} == {200}
    ids = {tuple((await r.get_json())["incidents"]) for r in responses}
    assert len(ids) == 1
    assert await table_counts(app) == (1, 3)


async def test_database_down_answers_503_so_alertmanager_retries(database_url: str, tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": database_url})
    application = create_app(settings, database_url)
    async with application.test_app():
        pools = application.extensions["tocsin_pools"]
        for name in ("main", "ingest"):  # as if PostgreSQL went away
            await pools[name].pool.close()
        client = application.test_client()
        response = await client.post(URL, json=load_sample("05_firing_from_prometheus.json"))
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert (await response.get_json())["error"]["code"] == "database_unavailable"
        ready = await client.get("/readyz")
        assert ready.status_code == 503


async def test_health_and_readiness(app: Quart) -> None:
    client = app.test_client()
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert (await ready.get_json())["status"] == "ready"
