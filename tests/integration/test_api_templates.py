"""Response templates through the API and the ingest: open from a template, a route's template, the checklist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from store.db import Database
from store.domain.config_schema import parse_config
from store.ingest import ingest_batch
from tests.support.api import bearer, running_app
from tests.support.incidents import firing_body
from webhook.alertmanager import parse_webhook

CONFIG = parse_config({
    "escalation_policies": [{"id": "dba", "steps": [{"after": "0m", "notify": ["slack_channel:C0DBA"]}]}],
    "templates": [
        {"id": "db-failover", "title": "Database failover", "severity": "critical",
         "description": "The primary is gone; fail over.",
         "checklist": ["Freeze deploys", "Promote the replica", "Point the app at it"],
         "runbooks": ["https://wiki.example/runbooks/db-failover"], "route": "db"},
        {"id": "plain", "title": "Something odd"},
    ],
    "routes": [{"id": "db", "match": ['team="db"'], "escalation": "dba", "slack_channel": "C0DB",
                "template": "db-failover", "sla": {"ack": "5m"}}],
})


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[Any]:
    async with running_app(database_url, CONFIG) as (_, test_client):
        yield test_client


async def test_open_from_a_template_then_check_a_step(client: Any, db: Database) -> None:
    writer = await bearer(db, "responder", user="alice")
    response = await client.post("/api/v1/incidents", json={"template": "db-failover"}, headers=writer)
    assert response.status_code == 201
    opened = await response.get_json()
    assert (opened["title"], opened["severity"], opened["route"]) == ("Database failover", "critical", "db")
    assert opened["description"] == "The primary is gone; fail over."
    assert opened["sla"]["ack_due_at"] is not None  # the template's route's target applies
    detail = await (await client.get(f"/api/v1/incidents/{opened['id']}", headers=writer)).get_json()
    assert detail["template"] == "db-failover"
    assert detail["runbooks"] == ["https://wiki.example/runbooks/db-failover"]
    assert [(s["index"], s["text"], s["done"]) for s in detail["checklist"]] == [
        (1, "Freeze deploys", False), (2, "Promote the replica", False), (3, "Point the app at it", False)]
    assert [e["kind"] for e in detail["timeline"]] == ["opened", "template_applied"]

    checked = await client.post(f"/api/v1/incidents/{opened['id']}/checklist/2", json={"done": True}, headers=writer)
    assert checked.status_code == 200
    item = await checked.get_json()
    assert (item["index"], item["done"], item["done_by"]) == (2, True, "alice") and item["done_at"]
    again = await client.post(f"/api/v1/incidents/{opened['id']}/checklist/2", json={"done": True}, headers=writer)
    assert (await again.get_json())["done_at"] == item["done_at"]  # checking twice changes nothing
    undone = await client.post(f"/api/v1/incidents/{opened['id']}/checklist/2", json={"done": False}, headers=writer)
    assert (await undone.get_json())["done"] is False
    detail = await (await client.get(f"/api/v1/incidents/{opened['id']}", headers=writer)).get_json()
    lines = [(e["kind"], e["actor"], e["source"], e["message"]) for e in detail["timeline"] if e["kind"] == "checklist"]
    assert lines == [
        ("checklist", "alice", "api", "Checklist step 2 done by alice: Promote the replica"),
        ("checklist", "alice", "api", "Checklist step 2 reopened by alice: Promote the replica"),
    ]
    async with db.connection() as conn:
        policy = await conn.fetchval("SELECT policy_id FROM incident_escalations WHERE incident_id = $1", opened["id"])
    assert policy == "dba"  # the route's escalation started


async def test_the_request_wins_over_the_template(client: Any, db: Database) -> None:
    writer = await bearer(db, "responder")
    body = {"template": "plain", "title": "Checkout down", "severity": "error", "description": "502s"}
    opened = await (await client.post("/api/v1/incidents", json=body, headers=writer)).get_json()
    assert (opened["title"], opened["severity"], opened["description"], opened["route"]) == (
        "Checkout down", "error", "502s", "default")


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/incidents", {"template": "nope"}, 422, "template"),
        ("/api/v1/incidents", {"severity": "critical"}, 422, "title"),
        ("/api/v1/incidents/{id}/checklist/9", {"done": True}, 404, "index"),
        ("/api/v1/incidents/{id}/checklist/1", {"done": "yes"}, 422, "done"),
        ("/api/v1/incidents/{id}/checklist/1", {}, 422, "done"),
    ],
)
async def test_bad_input_names_the_field(client: Any, db: Database, path: str, body: dict, status: int,
                                         field: str) -> None:
    writer = await bearer(db, "responder")
    opened = await (await client.post("/api/v1/incidents", json={"template": "db-failover"}, headers=writer)).get_json()
    response = await client.post(path.format(id=opened["id"]), json=body, headers=writer)
    assert response.status_code == status
    assert (await response.get_json())["error"]["details"][0]["field"] == field


async def test_a_checklist_needs_a_responder_and_an_incident(client: Any, db: Database) -> None:
    viewer = await bearer(db, "viewer")
    refused = await client.post("/api/v1/incidents/1/checklist/1", json={"done": True}, headers=viewer)
    assert refused.status_code == 403
    writer = await bearer(db, "responder", name="w")
    missing = await client.post("/api/v1/incidents/999/checklist/1", json={"done": True}, headers=writer)
    assert missing.status_code == 404


async def test_a_route_attaches_its_template_to_the_incidents_its_alerts_open(client: Any, db: Database) -> None:
    result = await ingest_batch(db, parse_webhook(firing_body("db1", labels={"team": "db"})), CONFIG.routes)
    headers = await bearer(db, "viewer")
    detail = await (await client.get(f"/api/v1/incidents/{result.incident_ids[0]}", headers=headers)).get_json()
    assert detail["template"] == "db-failover" and len(detail["checklist"]) == 3
    assert detail["description"] == "The primary is gone; fail over."
    assert detail["title"] != "Database failover"  # alerts name an alert incident
    assert [e["kind"] for e in detail["timeline"]][:2] == ["opened", "template_applied"]
    other = await ingest_batch(db, parse_webhook(firing_body("web1", labels={"team": "web"})), CONFIG.routes)
    plain = await (await client.get(f"/api/v1/incidents/{other.incident_ids[0]}", headers=headers)).get_json()
    assert (plain["template"], plain["checklist"], plain["runbooks"]) == (None, [], [])
