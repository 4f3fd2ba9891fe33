"""Alert list and detail, statistics, the OpenAPI document and /metrics through the app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from store import lifecycle
from store.db import Database
from store.domain.incident import ActionSource
from store.runtime import Runtime
from tests.conftest import load_sample
from tests.support.api import bearer, running_app, seed_incident


async def _post_samples(client: Any) -> list[int]:
    ids = []
    for name in ("01_firing_group_2alerts_amtool.json", "05_firing_from_prometheus.json"):
        response = await client.post("/api/v1/webhooks/alertmanager", json=load_sample(name))
        assert response.status_code == 200
        ids += (await response.get_json())["incidents"]
    return ids


async def test_alert_list_filters_and_pages(client: Any, admin: dict) -> None:
    first, second = await _post_samples(client)
    every = (await (await client.get("/api/v1/alerts", headers=admin)).get_json())["items"]
    assert len(every) == 3 and [a["id"] for a in every] == sorted((a["id"] for a in every), reverse=True)
    by_incident = (await (await client.get(f"/api/v1/alerts?incident_id={first}", headers=admin)).get_json())["items"]
    assert {a["incident_id"] for a in by_incident} == {first} and len(by_incident) == 2
    fp = every[0]["fingerprint"]
    by_fp = (await (await client.get(f"/api/v1/alerts?fingerprint={fp}", headers=admin)).get_json())["items"]
    assert [a["fingerprint"] for a in by_fp] == [fp]
    labels = every[-1]["labels"]
    name, value = next(iter(sorted(labels.items())))
    query = f"label={name}={value}&label=alertname={labels['alertname']}"
    by_label = (await (await client.get(f"/api/v1/alerts?{query}", headers=admin)).get_json())["items"]
    assert every[-1]["id"] in [a["id"] for a in by_label]
    assert all(a["labels"].get(name) == value for a in by_label)
    none = await (await client.get("/api/v1/alerts?label=alertname=NoSuchAlert", headers=admin)).get_json()
    assert none == {"items": [], "next_cursor": None}
    firing = (await (await client.get("/api/v1/alerts?status=firing", headers=admin)).get_json())["items"]
    assert len(firing) == 3
    page = await (await client.get("/api/v1/alerts?limit=2", headers=admin)).get_json()
    rest = await (await client.get(f"/api/v1/alerts?limit=2&cursor={page['next_cursor']}", headers=admin)).get_json()
    assert [a["id"] for a in page["items"] + rest["items"]] == [a["id"] for a in every] and rest["next_cursor"] is None
    assert second not in (first,)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=pending", "status"),
        ("incident_id=abc", "incident_id"),
        ("incident_id=0", "incident_id"),
        ("label=novalue", "label"),
        ("label=a=1&label=a=2", "label"),
        ("limit=1000", "limit"),
        ("cursor=eyJrIjoiaW5jaWRlbnRzLWNyZWF0ZWRfYXQiLCJ2IjpbXX0", "cursor"),
        ("page=2", "page"),
    ],
)
async def test_alert_list_bad_parameters(client: Any, admin: dict, query: str, field: str) -> None:
    response = await client.get(f"/api/v1/alerts?{query}", headers=admin)
    assert response.status_code == 422
    assert field in [d["field"] for d in (await response.get_json())["error"]["details"]]


async def test_one_alert_with_its_incident(client: Any, admin: dict) -> None:
    first, _ = await _post_samples(client)
    alert_id = (await (await client.get(f"/api/v1/alerts?incident_id={first}", headers=admin)).get_json())["items"][0][
        "id"
    ]
    body = await (await client.get(f"/api/v1/alerts/{alert_id}", headers=admin)).get_json()
    assert body["id"] == alert_id and body["incident"]["id"] == first and body["starts_at"].endswith("Z")
    assert body["labels"]["alertname"] == "HighLatency" and "summary" in body["annotations"]
    missing = await client.get("/api/v1/alerts/999999", headers=admin)
    assert missing.status_code == 404 and (await missing.get_json())["error"]["code"] == "not_found"
    assert (await client.get(f"/api/v1/alerts/{alert_id}")).status_code == 401


async def test_stats_counts_timings_and_days(database_url: str, db: Database) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    day = timedelta(days=1)
    await seed_incident(
        db,
        status="resolved",
        severity="critical",
        created_at=now - 2 * day,
        triggered_at=now - 2 * day,
        acknowledged_at=now - 2 * day + timedelta(seconds=60),
        resolved_at=now - 2 * day + timedelta(seconds=600),
    )
    await seed_incident(
        db,
        status="acknowledged",
        severity="warning",
        created_at=now - day,
        triggered_at=now - day,
        acknowledged_at=now - day + timedelta(seconds=180),
    )
    await seed_incident(
        db,
        status="triggered",
        severity="warning",
        created_at=now - timedelta(hours=1),
        triggered_at=now - timedelta(hours=1),
    )
    await seed_incident(
        db,
        status="resolved",
        severity="info",
        created_at=now - 30 * day,
        triggered_at=now - 30 * day,
        resolved_at=now - 30 * day + timedelta(seconds=5),
    )
    headers = await bearer(db, "viewer")
    async with running_app(database_url) as (app, client):
        runtime: Runtime = app.extensions["tocsin"]
        runtime.clock = lambda: now
        body = await (await client.get("/api/v1/stats", headers=headers)).get_json()
        assert body["by_status"] == {"triggered": 1, "acknowledged": 1, "resolved": 1}
        assert body["by_severity"] == {"critical": 1, "error": 0, "warning": 2, "info": 0}
        assert body["mtta_seconds"] == {"mean": 120.0, "p50": 120.0, "p90": pytest.approx(168.0)}
        assert body["mttr_seconds"] == {"mean": 600.0, "p50": 600.0, "p90": 600.0}
        assert len(body["daily"]) == 8 and body["daily"][-1]["date"] == now.date().isoformat()
        assert sum(d["opened"] for d in body["daily"]) == 3 and sum(d["resolved"] for d in body["daily"]) == 1
        wide = await (await client.get("/api/v1/stats?since=40d", headers=headers)).get_json()
        assert wide["by_status"]["resolved"] == 2 and wide["mttr_seconds"]["mean"] == pytest.approx(302.5)
        at = await (
            await client.get(
                "/api/v1/stats?since=" + (now - timedelta(hours=2)).isoformat().replace("+00:00", "Z"), headers=headers
            )
        ).get_json()
        assert at["by_status"]["triggered"] == 1 and at["mtta_seconds"]["mean"] is None
        for bad in ("since=7x", "since=400d", "since=2099-01-01T00:00:00Z", "days=7"):
            response = await client.get(f"/api/v1/stats?{bad}", headers=headers)
            assert response.status_code == 422, bad
            assert (await response.get_json())["error"]["details"][0]["field"] in ("since", "days")


async def test_openapi_describes_every_operation_with_errors_and_auth(client: Any) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).get_json()
    assert doc["openapi"].startswith("3.")
    operations = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert operations == {
        ("GET", "/api/v1/incidents"),
        ("POST", "/api/v1/incidents"),
        ("GET", "/api/v1/incidents/{id}"),
        ("POST", "/api/v1/incidents/{id}/acknowledge"),
        ("POST", "/api/v1/incidents/{id}/resolve"),
        ("POST", "/api/v1/incidents/{id}/notes"),
        ("POST", "/api/v1/incidents/{id}/silence"),
        ("GET", "/api/v1/alerts"),
        ("GET", "/api/v1/alerts/{id}"),
        ("GET", "/api/v1/stats"),
        ("GET", "/api/v1/reports/sla"),
        ("GET", "/api/v1/incidents/{id}/postmortem"),
        ("PUT", "/api/v1/incidents/{id}/postmortem"),
        ("POST", "/api/v1/incidents/{id}/checklist/{index}"),
        ("GET", "/api/v1/oncall"),
        ("GET", "/api/v1/schedules/{id}.ics"),
        ("POST", "/api/v1/webhooks/alertmanager"),
        ("POST", "/api/v1/webhooks/grafana"),
        ("POST", "/api/v1/events/v2/enqueue"),
        ("POST", "/v2/enqueue"),
        ("GET", "/api/v1/config"),
        ("GET", "/api/v1/schedules/{id}/overrides"),
        ("POST", "/api/v1/schedules/{id}/overrides"),
        ("DELETE", "/api/v1/schedules/{id}/overrides/{oid}"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/{name}"),
        ("POST", "/api/v1/incidents/{id}/unacknowledge"),
        ("POST", "/api/v1/incidents/{id}/reassign"),
        ("POST", "/api/v1/incidents/{id}/escalate"),
        ("POST", "/api/v1/incidents/{id}/snooze"),
        ("GET", "/api/v1/maintenance"),
        ("POST", "/api/v1/maintenance"),
        ("DELETE", "/api/v1/maintenance/{id}"),
        ("GET", "/api/v1/heartbeats"),
        ("POST", "/api/v1/heartbeats/{id}"),
        ("POST", "/api/v1/heartbeats/{id}/mute"),
        ("POST", "/api/v1/heartbeats/{id}/unmute"),
    }
    listing = doc["paths"]["/api/v1/incidents"]["get"]
    params = {p["name"]: p["schema"] for p in listing["parameters"]}
    assert params["limit"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    assert params["status"]["enum"] == ["triggered", "acknowledged", "resolved"]
    assert listing["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert listing["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert doc["components"]["schemas"]["OpenIncident"]["required"] == []  # title: unless a template gives one
    assert doc["components"]["schemas"]["Silence"]["required"] == ["duration"]
    assert {"409", "422", "503"} <= set(doc["paths"]["/api/v1/incidents/{id}/silence"]["post"]["responses"])
    label = next(p for p in doc["paths"]["/api/v1/alerts"]["get"]["parameters"] if p["name"] == "label")
    assert label["schema"]["type"] == "array"


async def test_metrics_count_webhooks_alerts_actions_and_requests(client: Any, db: Database, admin: dict) -> None:
    await _post_samples(client)
    rejected = await client.post("/api/v1/webhooks/alertmanager", json={"version": "4"})
    assert rejected.status_code in (400, 422)
    incident_id = await seed_incident(db, triggered_at=datetime.now(UTC) - timedelta(minutes=3))
    assert (await client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=admin)).status_code == 200
    await lifecycle.resolve(db, incident_id, "alice", ActionSource.SLACK)
    text = await (await client.get("/metrics")).get_data(as_text=True)
    assert 'tocsin_webhooks_received_total{outcome="accepted"} 2.0' in text
    assert 'tocsin_webhooks_received_total{outcome="rejected"} 1.0' in text
    assert "tocsin_alerts_ingested_total 3.0" in text
    assert 'tocsin_open_incidents{severity="critical",status="triggered"} 2.0' in text
    assert "tocsin_time_to_acknowledge_seconds_count 1.0" in text
    assert 'tocsin_time_to_acknowledge_seconds_bucket{le="120.0"} 0.0' in text
    assert "tocsin_time_to_resolve_seconds_count 1.0" in text
    assert (
        'tocsin_http_request_duration_seconds_count{method="POST",route="/api/v1/incidents/<int:id>/acknowledge",'
        'status="200"} 1.0'
    ) in text
    assert "# TYPE tocsin_deliveries_pending gauge" in text  # the delivery worker's, from the process registry
    assert "# TYPE tocsin_deliveries_failed gauge" in text


async def test_metrics_can_be_turned_off_or_moved(database_url: str) -> None:
    async with running_app(database_url, metrics_enabled=False) as (_, c):
        assert (await c.get("/metrics")).status_code == 404
    async with running_app(database_url, metrics_port=9999) as (app, c):
        assert (await c.get("/metrics")).status_code == 404
        metrics_app = app.extensions["tocsin_metrics_app"]
        response = await metrics_app.test_client().get("/metrics")
        assert response.status_code == 200 and "tocsin_open_incidents" in await response.get_data(as_text=True)
