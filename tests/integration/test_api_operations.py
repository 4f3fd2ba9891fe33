"""The operations API: GET /api/v1/config (admin), overrides of a schedule (own as a responder, anyone's as an
admin, overlaps refused with both named), API tokens (admin); each change on the audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from store import config_versions
from store.db import Database
from tests.support.api import bearer, running_app
from tests.support.escalation import CONFIG_DATA
from tests.support.waiting import eventually

OVERRIDES = "/api/v1/schedules/primary/overrides"
# Two days from now (the .ics feed shows eight weeks ahead of the real clock the app runs on), 09:00-17:00 UTC.
DAY = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
CAROL = {"user": "carol", "from": f"{DAY}T10:00:00+01:00", "until": f"{DAY}T18:00:00+01:00"}


@pytest.fixture
async def client(database_url: str, db: Database) -> AsyncIterator[Any]:
    """A serving app whose config is version 1 in the database (as `tocsin config apply` leaves it)."""
    await config_versions.apply_text(db, yaml.safe_dump(CONFIG_DATA), "tocsin.yml", "alice@ops1", "cli")
    async with running_app(database_url) as (_, test_client):
        yield test_client


async def audit(db: Database) -> list[tuple[str, str, str, str]]:
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT actor, source, action, subject FROM audit_log ORDER BY id")
    return [tuple(r) for r in rows]


async def test_config_shows_the_version_in_force_to_admins_only(client: Any, db: Database) -> None:
    assert (await client.get("/api/v1/config", headers=await bearer(db, "responder"))).status_code == 403
    answer = await client.get("/api/v1/config", headers=await bearer(db, "admin"))
    assert answer.status_code == 200
    body = await answer.get_json()
    assert body["version"]["version"] == 1 and body["version"]["applied_by"] == "alice@ops1"
    assert body["version"]["applied_via"] == "cli" and body["replica"] == {"version": 1, "problem": None}
    assert [v["version"] for v in body["history"]] == [1]


async def test_overrides_are_stored_shown_and_refused_when_they_overlap(client: Any, db: Database) -> None:
    admin = await bearer(db, "admin", "root")
    made = await client.post(OVERRIDES, json=CAROL, headers=admin)
    assert made.status_code == 201
    override = await made.get_json()
    assert override["user"] == "carol" and override["from"] == f"{DAY}T09:00:00Z"
    assert override["created_by"] == "token:root" and override["created_via"] == "api"
    stamp = DAY.replace("-", "") + "T090000Z"

    # Merged once NOTIFY wakes the replica: the clash below is then checked against the merged config too.
    async def in_feed() -> bool:
        feed = await client.get("/api/v1/schedules/primary.ics", headers=admin)
        return stamp in await feed.get_data(as_text=True)

    await eventually(in_feed, 30, "the override in the .ics feed")
    clash = await client.post(OVERRIDES, headers=admin, json={**CAROL, "user": "bob",
                                                                "from": f"{DAY}T17:00:00+01:00"})
    assert clash.status_code == 409
    error = (await clash.get_json())["error"]
    assert error["code"] == "override_overlaps"
    assert error["message"] == (
        f"the new override (bob from {DAY}T16:00:00Z until {DAY}T17:00:00Z) overlaps override "
        f"{override['id']} (carol from {DAY}T09:00:00Z until {DAY}T17:00:00Z) in schedule primary; "
        "delete that one first or pick other times")
    listed = await (await client.get(OVERRIDES, headers=admin)).get_json()
    assert [o["id"] for o in listed["items"]] == [override["id"]]
    gone = await client.delete(f"{OVERRIDES}/{override['id']}", headers=admin)
    assert gone.status_code == 200
    assert (await client.delete(f"{OVERRIDES}/{override['id']}", headers=admin)).status_code == 404
    assert await audit(db) == [
        ("alice@ops1", "cli", "config.apply", "config:1"),
        ("cli", "cli", "token.create", "token:root"),
        ("token:root", "api", "override.add", f"schedule:primary/override:{override['id']}"),
        ("token:root", "api", "override.delete", f"schedule:primary/override:{override['id']}"),
    ]


async def test_a_responder_overrides_only_their_own_shift(client: Any, db: Database) -> None:
    alice = await bearer(db, "responder", "alice-token", user="alice")
    others = await client.post(OVERRIDES, json=CAROL, headers=alice)
    assert others.status_code == 403
    assert (await others.get_json())["error"]["message"] == (
        "alice has role responder and may change only their own overrides; an admin may change carol's")
    own = await client.post(OVERRIDES, json={**CAROL, "user": "alice"}, headers=alice)
    assert own.status_code == 201
    viewer = await bearer(db, "viewer")
    assert (await client.post(OVERRIDES, json={**CAROL, "user": "alice"}, headers=viewer)).status_code == 403


async def test_bad_overrides_name_the_field(client: Any, db: Database) -> None:
    admin = await bearer(db, "admin")
    backwards = await client.post(OVERRIDES, headers=admin, json={**CAROL, "until": f"{DAY}T08:00:00+01:00"})
    assert backwards.status_code == 422
    assert (await backwards.get_json())["error"]["details"][0]["field"] == "until"
    stranger = await client.post(OVERRIDES, headers=admin, json={**CAROL, "user": "mallory"})
    assert stranger.status_code == 422 and (await stranger.get_json())["error"]["details"][0]["field"] == "user"
    unknown = await client.post("/api/v1/schedules/nosuch/overrides", headers=admin, json=CAROL)
    assert unknown.status_code == 404
    assert (await unknown.get_json())["error"]["message"] == (
        "schedule 'nosuch' does not exist; expected one of: primary")


async def test_an_api_override_shows_in_oncall(client: Any, db: Database) -> None:
    admin = await bearer(db, "admin")
    now = datetime.now(UTC)
    now_override = {"user": "carol", "from": (now - timedelta(hours=1)).isoformat(),
                    "until": (now + timedelta(days=1)).isoformat()}
    assert (await client.post(OVERRIDES, headers=admin, json=now_override)).status_code == 201

    async def carol_on_call() -> bool:
        body = await (await client.get("/api/v1/oncall", headers=admin)).get_json()
        return body["schedules"][0]["user"] == "carol"

    await eventually(carol_on_call, 30, "the override in /api/v1/oncall (NOTIFY)")


async def test_tokens_are_managed_by_admins(client: Any, db: Database) -> None:
    admin = await bearer(db, "admin", "root")
    assert (await client.get("/api/v1/tokens", headers=await bearer(db, "responder"))).status_code == 403
    made = await client.post("/api/v1/tokens", headers=admin, json={"name": "grafana", "role": "viewer"})
    assert made.status_code == 201
    token = (await made.get_json())["token"]
    mine = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/incidents", headers=mine)).status_code == 200
    again = await client.post("/api/v1/tokens", headers=admin, json={"name": "grafana", "role": "viewer"})
    assert again.status_code == 409
    listed = await (await client.get("/api/v1/tokens", headers=admin)).get_json()
    assert {t["name"] for t in listed["items"]} >= {"grafana", "root"} and "token" not in listed["items"][0]
    revoked = await client.delete("/api/v1/tokens/grafana", headers=admin)
    assert revoked.status_code == 200 and (await revoked.get_json())["revoked_at"] is not None
    assert (await client.get("/api/v1/incidents", headers=mine)).status_code == 401
    assert (await client.delete("/api/v1/tokens/nosuch", headers=admin)).status_code == 404
    assert [a for a in await audit(db) if a[0] == "token:root"] == [
        ("token:root", "api", "token.create", "token:grafana"), ("token:root", "api", "token.revoke", "token:grafana")]
