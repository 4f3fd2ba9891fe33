"""The webhooks' fast path (webhook/asgi.py) answers exactly as the routes' Quart views do, and hands on the rest."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from quart import Quart

from tests.conftest import load_sample
from web.app import create_app
from web.settings import load_settings
from webhook.asgi import WebhookFastPath

TOKEN = "fast-path-token"
ORIGIN = "https://ops.example.com"
AM = "/api/v1/webhooks/alertmanager"
GRAFANA = "/api/v1/webhooks/grafana"
GRAFANA_SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "grafana" / "01_firing_2alerts.json"
# The headers an answer's meaning depends on (the server adds Date; Content-Length follows the body).
COMPARED = ("Content-Type", "Cache-Control", "Retry-After", "WWW-Authenticate", "Access-Control-Allow-Origin", "Vary")


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Quart]:
    settings = load_settings({"WEBHOOK_TOKEN": TOKEN, "WEBHOOK_MAX_BYTES": "8192", "DATABASE_URL": database_url,
                              "CORS_ORIGINS": ORIGIN})
    application = create_app(settings, database_url)
    async with application.test_app():
        yield application


@contextmanager
def through_quart(app: Quart) -> Iterator[None]:
    """Serve with the fast path taken out, so that requests reach the routes' Quart views."""
    fast = app.asgi_app
    assert isinstance(fast, WebhookFastPath)
    app.asgi_app = fast.app  # type: ignore[method-assign]
    try:
        yield
    finally:
        app.asgi_app = fast  # type: ignore[method-assign]


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def big_body() -> bytes:
    body = load_sample("05_firing_from_prometheus.json")
    body["alerts"][0]["annotations"]["description"] = "x" * 9000
    return json.dumps(body).encode()


CASES: list[tuple[str, str, bytes, dict[str, str]]] = [
    ("stored", AM, json.dumps(load_sample("01_firing_group_2alerts_amtool.json")).encode(), auth()),
    ("stored again (a retry)", AM, json.dumps(load_sample("01_firing_group_2alerts_amtool.json")).encode(), auth()),
    ("some alerts skipped", AM, json.dumps({**load_sample("05_firing_from_prometheus.json"), "alerts": [
        load_sample("05_firing_from_prometheus.json")["alerts"][0], {"labels": "x"}]}).encode(), auth()),
    ("grafana", GRAFANA, GRAFANA_SAMPLE.read_bytes(), auth()),
    ("with an allowed Origin", AM, json.dumps(load_sample("02_firing_group_3alerts_curl_added.json")).encode(),
     {**auth(), "Origin": ORIGIN}),
    ("no token", AM, b"{}", {"Content-Type": "application/json"}),
    ("wrong token", GRAFANA, b"{}", auth("wrong")),
    ("not JSON's content type", AM, b"{}", {**auth(), "Content-Type": "text/plain"}),
    ("declared too large", AM, big_body(), auth()),
    ("not JSON", AM, b"{", auth()),
    ("not a webhook", AM, b'{"alerts": {"a": 1}}', auth()),
    ("only bad alerts", AM, b'{"alerts": [{"labels": "x"}]}', auth()),
    ("non-ASCII text in the answer", AM, b"{}", {**auth(), "Content-Type": "text/caf\u00e9"}),
]


async def answer(app: Quart, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    response = await app.test_client().post(path, data=body, headers=headers)
    return response.status_code, await response.get_data(), {h: response.headers.get(h, "") for h in COMPARED}


@pytest.mark.parametrize(("case", "path", "body", "headers"), CASES, ids=[c[0] for c in CASES])
async def test_the_fast_path_answers_as_the_routes_views_do(
    app: Quart, case: str, path: str, body: bytes, headers: dict[str, str]
) -> None:
    with through_quart(app):
        expected = await answer(app, path, body, headers)
    got = await answer(app, path, body, headers)
    assert got == expected, case
    assert got[2]["Cache-Control"] == "no-store"


async def call(app: Any, headers: dict[str, str], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drive an ASGI app with one POST to the Alertmanager webhook; what it sent. After `messages` the client
    sends nothing more (a stalled upload), and the call is given up after 10 s."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with asyncio.timeout(10):
        await app(scope(AM, headers), receive, send)
    return sent


def fast_path(app: Quart) -> WebhookFastPath:
    fast = app.asgi_app
    assert isinstance(fast, WebhookFastPath)
    return fast


async def test_a_body_streamed_past_the_limit_is_413_and_nothing_is_stored(app: Quart) -> None:
    chunks = [{"type": "http.request", "body": b"x" * 5000, "more_body": True}] * 3
    sent = await call(fast_path(app), auth(), chunks)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"
    assert chunks  # it stopped reading at the limit
    assert await counts(app) == (0, 0)


async def test_a_client_gone_mid_body_gets_no_answer_and_nothing_is_stored(app: Quart) -> None:
    raw = json.dumps(load_sample("05_firing_from_prometheus.json")).encode()
    messages = [{"type": "http.request", "body": raw[:40], "more_body": True}, {"type": "http.disconnect"}]
    assert await call(fast_path(app), auth(), messages) == []
    assert await counts(app) == (0, 0)


async def test_a_body_that_stops_coming_is_408_on_both_paths(database_url: str) -> None:
    settings = load_settings({"WEBHOOK_TOKEN": TOKEN, "DATABASE_URL": database_url, "HTTP_BODY_TIMEOUT": "1s"})
    application = create_app(settings, database_url)
    async with application.test_app():
        fast = fast_path(application)
        answers = []
        for served in (fast, fast.app):  # the fast path, then Quart's own view
            sent = await call(served, auth(), [{"type": "http.request", "body": b'{"alerts"', "more_body": True}])
            body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
            answers.append((sent[0]["status"], json.loads(body)))
        assert answers[0] == answers[1]
        assert answers[0][0] == 408 and answers[0][1]["error"]["code"] == "request_timeout"
        assert await counts(application) == (0, 0)


async def test_a_refusal_before_the_body_closes_a_connection_that_expects_100_continue(app: Quart) -> None:
    refused = await call(fast_path(app), {"Content-Type": "application/json", "Expect": "100-continue"}, [])
    assert refused[0]["status"] == 401 and (b"connection", b"close") in refused[0]["headers"]
    plain = await call(fast_path(app), {"Content-Type": "application/json"}, [])
    assert plain[0]["status"] == 401 and (b"connection", b"close") not in plain[0]["headers"]


async def test_other_methods_and_routes_reach_the_app(app: Quart) -> None:
    client = app.test_client()
    assert (await client.get(AM)).status_code == 405
    assert (await client.get("/healthz")).status_code == 200
    ping = await client.post("/api/v1/heartbeats/nope", headers=auth())
    assert ping.status_code == 404  # the heartbeat route's own answer: not declared


async def test_metrics_count_fast_path_webhooks(app: Quart) -> None:
    client = app.test_client()
    await client.post(AM, data=json.dumps(load_sample("01_firing_group_2alerts_amtool.json")), headers=auth())
    await client.post(AM, data=b"{}", headers={"Content-Type": "application/json"})
    text = await (await client.get("/metrics")).get_data(as_text=True)
    assert 'tocsin_webhooks_received_total{outcome="accepted"} 1.0' in text
    assert 'tocsin_webhooks_received_total{outcome="unauthorized"} 1.0' in text
    assert "tocsin_alerts_ingested_total 2.0" in text
    assert f'tocsin_http_request_duration_seconds_count{{method="POST",route="{AM}",status="200"}} 1.0' in text


def scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    """An ASGI HTTP scope as uvicorn gives it."""
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}


async def counts(app: Quart) -> tuple[int, int]:
    async with app.extensions["tocsin"].db.connection() as conn:
        return await conn.fetchval("SELECT count(*) FROM incidents"), await conn.fetchval("SELECT count(*) FROM alerts")
