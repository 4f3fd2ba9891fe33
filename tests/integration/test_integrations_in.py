"""Grafana's webhook and PagerDuty-style events through the app's real routes, intake and store: grouped and
deduplicated as Alertmanager's alerts are, routed by the integration's labels, answered as each sender expects."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from store.db import Database
from store.domain.config_schema import parse_config
from store.domain.routing import Route
from tests.conftest import load_grafana_sample
from tests.support.api import api_settings
from web.app import create_app
from webhook.settings import WebhookSettings

TOKEN = "grafana-webhook-token-0123"
SENTRY_KEY = "0123456789abcdef0123456789abcdef"
ZABBIX_KEY = "fedcba9876543210fedcba9876543210"
CONFIG = {
    "integrations": [
        {"id": "sentry", "kind": "pagerduty_events", "routing_key": SENTRY_KEY, "labels": {"team": "web"}},
        {"id": "zabbix", "kind": "pagerduty_events", "routing_key": ZABBIX_KEY, "labels": {"team": "db"}},
    ],
    "routes": [{"id": "web", "match": ['team="web"']}, {"id": "db", "match": ['team="db"']}],
}
GRAFANA = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[Any]:
    settings = replace(api_settings(database_url, anonymous_read=True), webhook=WebhookSettings(token=TOKEN))
    config = parse_config(CONFIG, Route(id="default"))
    app = create_app(settings, database_url, config=config)
    async with app.test_app():
        yield app.test_client()


async def post(client: Any, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await client.post(path, data=data, headers=headers)
    return response.status_code, await response.get_json()


async def one(db: Database, sql: str, *args: Any) -> Any:
    async with db.connection() as conn:
        return await conn.fetchrow(sql, *args)


async def count(db: Database, table: str) -> int:
    async with db.connection() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")  # table names are the tests' own


def event(action: str, key: str = SENTRY_KEY, dedup_key: str | None = "checkout-500s", **payload: Any) -> dict:
    body: dict[str, Any] = {"routing_key": key, "event_action": action}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    if action == "trigger":
        body["payload"] = {"summary": "Checkout answers 500", "source": "web-1", "severity": "error", **payload}
    return body


async def test_grafana_alerts_become_one_incident_per_group_with_grafanas_links(client: Any, db: Database) -> None:
    status, answer = await post(client, "/api/v1/webhooks/grafana", load_grafana_sample("01_firing_2alerts.json"),
                                GRAFANA)
    assert status == 200 and answer["skipped"] == []
    (incident_id,) = answer["incidents"]
    row = await one(db, "SELECT * FROM incidents WHERE id = $1", incident_id)
    assert row["source"] == "grafana" and row["severity"] == "critical" and row["alert_count"] == 2
    assert row["title"] == "High memory usage (Infra)"
    assert row["links"]["dashboard"].startswith("https://grafana.example.com/d/mem-dash?from=")
    assert "viewPanel=4" in row["links"]["panel"] and "alertmanager" not in row["links"]
    page = await (await client.get(f"/incidents/{incident_id}")).get_data(as_text=True)
    assert ">Grafana dashboard</a>" in page and ">Grafana panel</a>" in page and "viewPanel=4" in page
    opened = await one(db, "SELECT * FROM incident_events WHERE incident_id = $1 AND kind = 'opened'", incident_id)
    assert (opened["actor"], opened["source"], opened["message"]) == ("grafana", "grafana", "Opened by Grafana")
    # Grafana sends the group again (a retry, then five minutes later with new values): the same two alerts.
    for sample in ("01_firing_2alerts.json", "02_firing_2alerts_5m_later.json"):
        status, answer = await post(client, "/api/v1/webhooks/grafana", load_grafana_sample(sample), GRAFANA)
        assert (status, answer["incidents"]) == (200, [incident_id])
    assert await count(db, "alerts") == 2 and await count(db, "incidents") == 1
    values = await one(db, "SELECT annotations ->> 'values' AS v FROM alerts WHERE fingerprint = 'c6eadffa33fcdf37'")
    assert values["v"] == "B=94.5, C=1"
    status, answer = await post(client, "/api/v1/webhooks/grafana", load_grafana_sample("03_resolved_2alerts.json"),
                                GRAFANA)
    row = await one(db, "SELECT status, resolved_by FROM incidents WHERE id = $1", incident_id)
    assert (status, dict(row)) == (200, {"status": "resolved", "resolved_by": "grafana"})


async def test_grafana_needs_the_webhook_token_and_its_own_shape(client: Any, db: Database) -> None:
    body = load_grafana_sample("04_test_notification.json")
    status, answer = await post(client, "/api/v1/webhooks/grafana", body, JSON)
    assert status == 401 and "Authorization Header - Credentials" in answer["error"]["message"]
    status, answer = await post(client, "/api/v1/webhooks/grafana", {**body, "version": "4"}, GRAFANA)
    assert status == 422 and answer["error"]["details"] == [{"field": "version", "message": 'expected "1"'}]
    status, answer = await post(client, "/api/v1/webhooks/grafana", {**body, "alerts": [{"labels": {}}]}, GRAFANA)
    assert status == 422 and answer["error"]["message"] == "no alert in the body could be used"
    status, _ = await post(client, "/api/v1/webhooks/grafana", b"{not json", GRAFANA)
    assert status == 400 and await count(db, "incidents") == 0


async def test_a_pagerduty_trigger_opens_one_incident_per_key_routed_by_the_integrations_labels(
    client: Any, db: Database
) -> None:
    status, answer = await post(client, "/api/v1/events/v2/enqueue", event("trigger"), JSON)
    assert (status, answer) == (202, {"status": "success", "message": "Event processed", "dedup_key": "checkout-500s"})
    row = await one(db, "SELECT * FROM incidents")
    assert (row["route_id"], row["source"], row["title"], row["severity"]) == ("web", "pagerduty",
                                                                               "Checkout answers 500", "error")
    assert row["labels"]["team"] == "web"
    # Sent again (a retry, or the tool repeating itself): the same alert, the same incident.
    for _ in range(2):
        status, answer = await post(client, "/v2/enqueue", event("trigger"), JSON)
        assert (status, answer["dedup_key"]) == (202, "checkout-500s")
    alert = await one(db, "SELECT * FROM alerts")
    assert await count(db, "alerts") == 1 and await count(db, "incidents") == 1
    assert alert["fingerprint"] == "sentry:checkout-500s"
    # The other integration's events go to its own route.
    await post(client, "/v2/enqueue", event("trigger", ZABBIX_KEY, "db-lag", severity="critical"), JSON)
    routes = {r["route_id"] for r in await _all(db, "SELECT route_id FROM incidents")}
    assert routes == {"web", "db"}


async def test_acknowledge_and_resolve_follow_the_key(client: Any, db: Database) -> None:
    await post(client, "/api/v1/events/v2/enqueue", event("trigger"), JSON)
    status, answer = await post(client, "/api/v1/events/v2/enqueue", event("acknowledge"), JSON)
    assert status == 202 and answer["dedup_key"] == "checkout-500s"
    row = await one(db, "SELECT status, acknowledged_by FROM incidents")
    assert dict(row) == {"status": "acknowledged", "acknowledged_by": "sentry"}
    ack = await one(db, "SELECT actor, source FROM incident_events WHERE kind = 'acknowledged'")
    assert dict(ack) == {"actor": "sentry", "source": "pagerduty"}
    assert (await post(client, "/api/v1/events/v2/enqueue", event("acknowledge"), JSON))[0] == 202  # no change
    assert (await post(client, "/api/v1/events/v2/enqueue", event("resolve"), JSON))[0] == 202
    row = await one(db, "SELECT status, resolved_by FROM incidents")
    assert dict(row) == {"status": "resolved", "resolved_by": "sentry"}
    # Unknown keys (never triggered) change nothing, and PagerDuty answers them 202 as well.
    for action in ("acknowledge", "resolve"):
        assert (await post(client, "/v2/enqueue", event(action, dedup_key="never-seen"), JSON))[0] == 202
    assert await count(db, "incidents") == 1


async def test_a_trigger_without_a_key_gets_one_back(client: Any, db: Database) -> None:
    status, answer = await post(client, "/v2/enqueue", event("trigger", dedup_key=None), {"Content-Type": "text/plain"})
    assert status == 202 and len(answer["dedup_key"]) == 32
    alert = await one(db, "SELECT fingerprint FROM alerts")
    assert alert["fingerprint"] == f"sentry:{answer['dedup_key']}"


async def test_an_unknown_routing_key_gets_pagerdutys_400_and_nothing_is_stored(client: Any, db: Database) -> None:
    status, answer = await post(client, "/api/v1/events/v2/enqueue", event("trigger", "9" * 32), JSON)
    assert status == 400
    assert answer == {"status": "invalid event", "message": "Event object is invalid", "errors": [
        "'routing_key' does not match any integration (integrations[].routing_key in Tocsin's config file)"]}
    assert await count(db, "incidents") == 0 and await count(db, "alerts") == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (event("trigger", severity="fatal"), "'payload.severity' is invalid"),
        (event("resolve", dedup_key=None), "'dedup_key' is required for a resolve event"),
        ({"event_action": "trigger"}, "'routing_key' is missing or blank"),
        (b"{not json", "the body is not valid JSON"),
        (b"[]", "the event must be a JSON object"),
    ],
)
async def test_a_malformed_event_names_the_field(client: Any, db: Database, body: Any, error: str) -> None:
    status, answer = await post(client, "/v2/enqueue", body, JSON)
    assert status == 400 and answer["status"] == "invalid event" and answer["message"] == "Event object is invalid"
    assert any(e.startswith(error) for e in answer["errors"]), answer
    assert await count(db, "alerts") == 0


async def _all(db: Database, sql: str) -> list[Any]:
    async with db.connection() as conn:
        return await conn.fetch(sql)
