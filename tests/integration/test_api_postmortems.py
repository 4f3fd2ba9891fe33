"""Post-mortems through the API: the filled-in draft, ETag concurrency (412, not a lost edit), publishing,
the Markdown export, and refusals on open incidents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from store import lifecycle
from store.db import Database
from store.domain.config_schema import parse_config
from store.domain.incident import ActionSource
from tests.support.api import bearer, running_app
from tests.support.incidents import open_incident

CONFIG = parse_config({"routes": [{"id": "everything", "sla": {"ack": "5m", "resolve": "4h"}}]})
URL = "/api/v1/incidents/{}/postmortem"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[Any]:
    async with running_app(database_url, CONFIG) as (_, test_client):
        yield test_client


async def resolved_incident(db: Database) -> int:
    incident_id = await open_incident(db, "pm", CONFIG.routes, labels={"team": "shop"})
    await lifecycle.acknowledge(db, incident_id, "alice", ActionSource.SLACK)
    await lifecycle.resolve(db, incident_id, "bob", ActionSource.API, "rolled back")
    return incident_id


async def test_an_open_incident_has_no_post_mortem_yet(client: Any, db: Database) -> None:
    incident_id = await open_incident(db, "open", CONFIG.routes)
    writer = await bearer(db, "responder")
    read = await client.get(URL.format(incident_id), headers=writer)
    assert read.status_code == 409
    assert (await read.get_json())["error"]["details"] == [{"field": "status", "message": "triggered"}]
    saved = await client.put(URL.format(incident_id), json={"status": "draft", "markdown": "x"},
                             headers={**writer, "If-Match": f'"pm-{incident_id}-0"'})
    assert saved.status_code == 409
    assert (await client.get(URL.format(999), headers=writer)).status_code == 404


async def test_the_draft_is_filled_with_the_facts(client: Any, db: Database) -> None:
    incident_id = await resolved_incident(db)
    response = await client.get(URL.format(incident_id), headers=await bearer(db, "viewer"))
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"pm-{incident_id}-0"'
    body = await response.get_json()
    assert (body["status"], body["version"], body["saved"]) == ("draft", 0, False)
    text = body["markdown"]
    assert text.startswith(f"# Post-mortem: #{incident_id} ")
    assert "| Acknowledged |" in text and "| alice |" in text and "| bob |" in text
    assert "target 5m: met" in text and "target 4h: met" in text
    assert "group=pm" in text and "team=shop" in text  # the alert with its labels
    assert "Resolved by bob: rolled back (bob via api)" in text  # the timeline
    for section in ("## Impact", "## Root cause", "## What went well", "## Action items"):
        assert section in text


async def test_a_stale_edit_is_refused_not_lost(client: Any, db: Database) -> None:
    incident_id = await resolved_incident(db)
    alice = await bearer(db, "responder", name="a", user="alice")
    carol = await bearer(db, "responder", name="c", user="carol")
    url = URL.format(incident_id)
    missing = await client.put(url, json={"status": "draft", "markdown": "# v1"}, headers=alice)
    assert missing.status_code == 428
    first = await client.put(url, json={"status": "draft", "markdown": "# v1"},
                             headers={**alice, "If-Match": f'"pm-{incident_id}-0"'})
    assert first.status_code == 201 and first.headers["ETag"] == f'"pm-{incident_id}-1"'
    stale = await client.put(url, json={"status": "draft", "markdown": "# carol's"},
                             headers={**carol, "If-Match": f'"pm-{incident_id}-0"'})
    assert stale.status_code == 412
    error = (await stale.get_json())["error"]
    assert "version 1 was saved by alice" in error["message"] and error["details"][0]["field"] == "If-Match"
    garbage = await client.put(url, json={"status": "draft", "markdown": "# x"}, headers={**carol, "If-Match": "*"})
    assert garbage.status_code == 412
    both = await asyncio.gather(*(
        client.put(url, json={"status": "draft", "markdown": f"# {who}"},
                   headers={**headers, "If-Match": f'"pm-{incident_id}-1"'})
        for who, headers in (("alice", alice), ("carol", carol))
    ))
    assert sorted(r.status_code for r in both) == [200, 412]
    winner = next(r for r in both if r.status_code == 200)
    current = await (await client.get(url, headers=alice)).get_json()
    assert current["version"] == 2 and current["markdown"] == (await winner.get_json())["markdown"]


async def test_publishing_needs_an_owner_for_every_action_item(client: Any, db: Database) -> None:
    incident_id = await resolved_incident(db)
    writer = await bearer(db, "responder", user="alice")
    url = URL.format(incident_id)
    text = "# Review\n\n## Action items\n\n- [ ] Alert on lag @carol\n- [ ] Write a runbook\n"
    refused = await client.put(url, json={"status": "published", "markdown": text},
                               headers={**writer, "If-Match": f'"pm-{incident_id}-0"'})
    assert refused.status_code == 422
    details = (await refused.get_json())["error"]["details"]
    assert details == [{"field": "markdown",
                        "message": "line 6: action item 'Write a runbook' has no owner; expected '@name' on the line"}]
    published = await client.put(url, json={"status": "published", "markdown": text.replace("runbook", "runbook @bob")},
                                 headers={**writer, "If-Match": f'"pm-{incident_id}-0"'})
    assert published.status_code == 201
    body = await published.get_json()
    assert body["status"] == "published" and body["published_at"]
    assert body["action_items"] == [{"text": "Alert on lag @carol", "owner": "carol", "done": False},
                                    {"text": "Write a runbook @bob", "owner": "bob", "done": False}]
    detail = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=writer)).get_json()
    assert detail["timeline"][-1]["kind"] == "postmortem_published"
    assert detail["timeline"][-1]["message"] == "Post-mortem published by alice"


@pytest.mark.parametrize("how", [{"query": "?format=markdown"}, {"accept": "text/markdown"}])
async def test_export_as_markdown(client: Any, db: Database, how: dict[str, str]) -> None:
    incident_id = await resolved_incident(db)
    headers = {**await bearer(db, "viewer"), "Accept": how.get("accept", "*/*")}
    response = await client.get(URL.format(incident_id) + how.get("query", ""), headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="postmortem-{incident_id}.md"'
    assert (await response.get_data(as_text=True)).startswith(f"# Post-mortem: #{incident_id}")


@pytest.mark.parametrize(("body", "field"), [({"status": "final", "markdown": "x"}, "status"),
                                             ({"status": "draft", "markdown": "   "}, "markdown"),
                                             ({"status": "draft"}, "markdown")])
async def test_a_bad_body_names_the_field(client: Any, db: Database, body: dict, field: str) -> None:
    incident_id = await resolved_incident(db)
    writer = await bearer(db, "responder")
    response = await client.put(URL.format(incident_id), json=body,
                                headers={**writer, "If-Match": f'"pm-{incident_id}-0"'})
    assert response.status_code == 422
    assert (await response.get_json())["error"]["details"][0]["field"] == field


async def test_saving_a_draft_sends_no_message(client: Any, db: Database) -> None:
    incident_id = await resolved_incident(db)
    async with db.connection() as conn:
        before = await conn.fetchval("SELECT max(event_id) FROM deliveries WHERE incident_id = $1", incident_id)
    writer = await bearer(db, "responder")
    await client.put(URL.format(incident_id), json={"status": "draft", "markdown": "# draft"},
                     headers={**writer, "If-Match": f'"pm-{incident_id}-0"'})
    async with db.connection() as conn:
        after = await conn.fetchval("SELECT max(event_id) FROM deliveries WHERE incident_id = $1", incident_id)
    assert after == before
