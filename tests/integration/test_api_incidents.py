"""The incident endpoints through the app: auth, filters, sorts, cursors, actions and their errors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from store.db import Database
from tests.support.api import PUBLIC_URL, bearer, running_app, seed_incident

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def _json(response: Any) -> Any:
    return await response.get_json()


async def _seed_many(db: Database) -> list[int]:
    """Six incidents of mixed status, severity and team, one hour apart (oldest first)."""
    specs = [
        ("triggered", "critical", "payments", "Checkout latency high"),
        ("acknowledged", "warning", "payments", "Disk almost full"),
        ("resolved", "info", "search", "Index lag"),
        ("triggered", "error", "search", "Search 5xx rate"),
        ("resolved", "critical", "infra", "Node down"),
        ("triggered", "warning", "infra", "Certificate expires soon"),
    ]
    ids = []
    for n, (status, severity, team, title) in enumerate(specs):
        at = T0 + timedelta(hours=n)
        ids.append(
            await seed_incident(
                db,
                status=status,
                severity=severity,
                title=title,
                labels={"team": team},
                created_at=at,
                updated_at=T0 + timedelta(days=1, hours=-n),
                triggered_at=at,
            )
        )
    return ids


async def test_reads_need_a_token_and_writes_a_responder(client: Any, db: Database) -> None:
    missing = await client.get("/api/v1/incidents")
    assert missing.status_code == 401 and (await _json(missing))["error"]["code"] == "unauthorized"
    unknown = await client.get("/api/v1/incidents", headers={"Authorization": "Bearer tocsin_nope"})
    assert unknown.status_code == 401
    malformed = await client.get("/api/v1/incidents", headers={"Authorization": "Basic abc"})
    assert malformed.status_code == 401
    viewer = await bearer(db, "viewer")
    assert (await client.get("/api/v1/incidents", headers=viewer)).status_code == 200
    refused = await client.post("/api/v1/incidents", json={"title": "x"}, headers=viewer)
    assert refused.status_code == 403 and "viewer" in (await _json(refused))["error"]["message"]
    responder = await bearer(db, "responder")
    assert (await client.post("/api/v1/incidents", json={"title": "x"}, headers=responder)).status_code == 201


async def test_revoked_token_stops_working(client: Any, db: Database) -> None:
    from store.tokens import revoke_token

    headers = await bearer(db, "admin", name="ci")
    assert (await client.get("/api/v1/incidents", headers=headers)).status_code == 200
    await revoke_token(db, "ci")
    assert (await client.get("/api/v1/incidents", headers=headers)).status_code == 401


async def test_anonymous_read_opens_reads_only(database_url: str) -> None:
    async with running_app(database_url, anonymous_read=True) as (_, c):
        assert (await c.get("/api/v1/incidents")).status_code == 200
        assert (await c.get("/api/v1/stats")).status_code == 200
        assert (await c.post("/api/v1/incidents", json={"title": "x"})).status_code == 401


async def test_list_default_sort_newest_first_with_contract_fields(client: Any, db: Database, admin: dict) -> None:
    ids = await _seed_many(db)
    body = await _json(await client.get("/api/v1/incidents", headers=admin))
    assert [i["id"] for i in body["items"]] == ids[::-1]
    assert body["next_cursor"] is None
    first = body["items"][-1]
    for key in (
        "id",
        "title",
        "status",
        "severity",
        "labels",
        "created_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "alert_count",
        "firing_alert_count",
        "url",
        "summary",
        "links",
    ):
        assert key in first
    assert first["url"] == f"{PUBLIC_URL}/incidents/{ids[0]}"
    assert first["created_at"] == "2026-11-20T12:00:00Z"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=triggered", [5, 3, 0]),
        ("severity=critical", [4, 0]),
        ("team=search", [3, 2]),
        ("q=latency", [0]),
        ("q=DISK", [1]),
        ("q=100%25", []),
        ("since=2026-11-20T14:00:00Z", [5, 4, 3, 2]),
        ("until=2026-11-20T14:00:00%2B00:00", [1, 0]),
        ("status=triggered&team=infra", [5]),
    ],
)
async def test_list_filters(client: Any, db: Database, admin: dict, query: str, expected: list[int]) -> None:
    ids = await _seed_many(db)
    body = await _json(await client.get(f"/api/v1/incidents?{query}", headers=admin))
    assert [i["id"] for i in body["items"]] == [ids[n] for n in expected]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("created_at", [0, 1, 2, 3, 4, 5]),
        ("-updated_at", [0, 1, 2, 3, 4, 5]),
        ("severity", [4, 0, 3, 5, 1, 2]),
        ("status", [5, 3, 0, 1, 4, 2]),
    ],
)
async def test_sorts_and_cursor_pages_cover_everything_once(
    client: Any, db: Database, admin: dict, sort: str, expected: list[int]
) -> None:
    ids = await _seed_many(db)
    seen: list[int] = []
    url = f"/api/v1/incidents?sort={sort}&limit=4"
    for _ in range(5):
        body = await _json(await client.get(url, headers=admin))
        seen += [i["id"] for i in body["items"]]
        if body["next_cursor"] is None:
            break
        url = f"/api/v1/incidents?sort={sort}&limit=4&cursor={body['next_cursor']}"
    assert seen == [ids[n] for n in expected]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("status=open", "status"),
        ("severity=fatal", "severity"),
        ("sort=title", "sort"),
        ("since=yesterday", "since"),
        ("until=2026-11-20T12:00:00", "until"),
        ("colour=red", "colour"),
        ("status=triggered&status=resolved", "status"),
        ("q=a%00b", "q"),
        ("cursor=!!!", "cursor"),
    ],
)
async def test_bad_list_parameters_answer_422_naming_the_field(
    client: Any, admin: dict, query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/incidents?{query}", headers=admin)
    assert response.status_code == 422
    error = (await _json(response))["error"]
    assert field in [d["field"] for d in error["details"]]
    assert field in error["message"]


async def test_tampered_or_foreign_cursors_are_refused(client: Any, db: Database, admin: dict) -> None:
    await _seed_many(db)
    page = await _json(await client.get("/api/v1/incidents?limit=2", headers=admin))
    cursor = page["next_cursor"]
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    forged = [
        {**raw, "v": ["2026-01-01T00:00:00Z", "1; DROP TABLE incidents"]},
        {**raw, "v": raw["v"][:1]},
        {**raw, "k": "alerts"},
        ["not", "an", "object"],
    ]
    for value in forged:
        token = base64.urlsafe_b64encode(json.dumps(value).encode()).decode()
        response = await client.get(f"/api/v1/incidents?limit=2&cursor={token}", headers=admin)
        assert response.status_code == 422 and (await _json(response))["error"]["details"][0]["field"] == "cursor"
    other_sort = await client.get(f"/api/v1/incidents?sort=severity&cursor={cursor}", headers=admin)
    assert other_sort.status_code == 422


async def test_get_one_with_alerts_and_timeline(client: Any, admin: dict) -> None:
    from tests.conftest import load_sample

    posted = await client.post("/api/v1/webhooks/alertmanager", json=load_sample("01_firing_group_2alerts_amtool.json"))
    incident_id = (await _json(posted))["incidents"][0]
    body = await _json(await client.get(f"/api/v1/incidents/{incident_id}", headers=admin))
    assert body["id"] == incident_id and len(body["alerts"]) == 2
    assert [e["kind"] for e in body["timeline"]][0] == "opened"
    assert body["timeline"][0]["source"] == "alertmanager"
    missing = await client.get("/api/v1/incidents/424242", headers=admin)
    assert missing.status_code == 404 and "#424242" in (await _json(missing))["error"]["message"]
    assert (await client.get("/api/v1/incidents/99999999999999999999999", headers=admin)).status_code == 404


async def test_open_by_hand_then_acknowledge_resolve_and_note(client: Any, db: Database) -> None:
    headers = await bearer(db, "responder", name="ops", user="alice")
    created = await client.post(
        "/api/v1/incidents",
        json={"title": "Payments failing", "severity": "critical", "description": "PSP 500s"},
        headers=headers,
    )
    assert created.status_code == 201
    incident = await _json(created)
    assert incident["status"] == "triggered" and incident["severity"] == "critical" and incident["source"] == "api"
    path = f"/api/v1/incidents/{incident['id']}"
    acked = await client.post(f"{path}/acknowledge", json={"by": "bob"}, headers=headers)
    assert acked.status_code == 200 and (await _json(acked))["acknowledged_by"] == "bob"
    again = await client.post(f"{path}/acknowledge", headers=headers)
    assert again.status_code == 409
    assert "already acknowledged by bob" in (await _json(again))["error"]["message"]
    resolved = await client.post(f"{path}/resolve", json={"note": "PSP fixed"}, headers=headers)
    assert resolved.status_code == 200 and (await _json(resolved))["resolved_by"] == "alice"  # the token's user
    late = await client.post(f"{path}/acknowledge", headers=headers)
    assert late.status_code == 409 and "already resolved by alice" in (await _json(late))["error"]["message"]
    noted = await client.post(f"{path}/notes", json={"text": "postmortem Monday"}, headers=headers)
    assert noted.status_code == 201 and (await _json(noted))["actor"] == "alice"
    timeline = (await _json(await client.get(path, headers=headers)))["timeline"]
    assert [(e["kind"], e["source"]) for e in timeline] == [
        ("opened", "api"),
        ("acknowledged", "api"),
        ("resolved", "api"),
        ("note", "api"),
    ]
    assert timeline[2]["data"]["note"] == "PSP fixed"


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/incidents", {}, 422, "title"),
        ("/api/v1/incidents", {"title": "   "}, 422, "title"),
        ("/api/v1/incidents", {"title": "x", "severity": "fatal"}, 422, "severity"),
        ("/api/v1/incidents", {"title": "x", "colour": "red"}, 422, "colour"),
        ("/api/v1/incidents", {"title": 5}, 422, "title"),
        ("/api/v1/incidents", [1, 2], 422, "body"),
        ("/api/v1/incidents/{id}/notes", {}, 422, "text"),
        ("/api/v1/incidents/{id}/notes", {"text": "a\u0000b"}, 422, "text"),
        ("/api/v1/incidents/{id}/acknowledge", {"by": ""}, 422, "by"),
        ("/api/v1/incidents/{id}/resolve", {"note": 3}, 422, "note"),
    ],
)
async def test_bad_bodies_answer_422_naming_the_field(
    client: Any, db: Database, admin: dict, path: str, body: Any, status: int, field: str
) -> None:
    incident_id = await seed_incident(db)
    response = await client.post(path.format(id=incident_id), json=body, headers=admin)
    assert response.status_code == status
    assert field in [d["field"] for d in (await _json(response))["error"]["details"]]


async def test_body_not_json_or_wrong_type(client: Any, db: Database, admin: dict) -> None:
    incident_id = await seed_incident(db)
    garbled = await client.post(
        "/api/v1/incidents", data="{nope", headers={**admin, "Content-Type": "application/json"}
    )
    assert garbled.status_code == 400 and (await _json(garbled))["error"]["code"] == "invalid_json"
    text = await client.post("/api/v1/incidents", data="title", headers={**admin, "Content-Type": "text/plain"})
    assert text.status_code == 415
    empty = await client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=admin)
    assert empty.status_code == 200  # the body is optional
    assert (await client.post("/api/v1/incidents/777/resolve", headers=admin)).status_code == 404
    assert (await client.post("/api/v1/incidents/777/notes", json={"text": "x"}, headers=admin)).status_code == 404
