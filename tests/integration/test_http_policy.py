"""What every answer obeys: no-store on authenticated reads, CORS only for CORS_ORIGINS, body limits on every route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Quart

from store.tokens import create_token
from web.app import create_app
from web.http_policy import MAX_BODY_BYTES
from web.settings import load_settings

ORIGIN = "https://ops.example.com"
WEBHOOK_MAX = 2 * MAX_BODY_BYTES  # larger than every other route's limit, which must still hold there


async def started(database_url: str, **extra: str) -> Any:
    return create_app(load_settings({"DATABASE_URL": database_url, "WEBHOOK_MAX_BYTES": str(WEBHOOK_MAX), **extra}),
                      database_url)


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Quart]:
    application = await started(database_url)
    async with application.test_app():
        yield application


async def bearer(app: Quart, role: str = "admin") -> dict[str, str]:
    _, token = await create_token(app.extensions["tocsin"].db, f"{role}-http", role)
    return {"Authorization": f"Bearer {token}"}


async def test_authenticated_api_reads_are_never_cached(app: Quart) -> None:
    headers = await bearer(app, "viewer")
    for path in ("/api/v1/incidents", "/api/v1/alerts", "/api/v1/stats", "/api/v1/oncall"):
        response = await app.test_client().get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


async def test_no_cors_unless_origins_are_set(app: Quart) -> None:
    headers = {**await bearer(app, "viewer"), "Origin": ORIGIN}
    response = await app.test_client().get("/api/v1/incidents", headers=headers)
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers
    preflight = await app.test_client().options("/api/v1/incidents", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert not [name for name, _ in preflight.headers.items() if name.lower().startswith("access-control-")]


async def test_cors_for_the_listed_origins_only(database_url: str) -> None:
    app = await started(database_url, CORS_ORIGINS=f"{ORIGIN},https://other.example.com")
    async with app.test_app():
        client = app.test_client()
        headers = await bearer(app, "viewer")
        allowed = await client.get("/api/v1/incidents", headers={**headers, "Origin": ORIGIN})
        assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN and "Origin" in allowed.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in allowed.headers  # bearer tokens only, never cookies
        stranger = await client.get("/api/v1/incidents", headers={**headers, "Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in stranger.headers
        preflight = await client.options("/api/v1/incidents/1/acknowledge", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        page = await client.get("/login", headers={"Origin": ORIGIN})  # the dashboard is never shared
        assert "Access-Control-Allow-Origin" not in page.headers


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize(("path", "form"), [
    ("/api/v1/incidents", False),  # a declared API body
    ("/login", True),  # the dashboard's sign-in form
    ("/api/v1/incidents/1/notes", False),
])
async def test_every_route_limits_its_body(app: Quart, path: str, form: bool, chunked: bool) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    headers = {**await bearer(app), "Content-Type": "application/x-www-form-urlencoded" if form else "application/json"}
    client = app.test_client()
    if chunked:  # no Content-Length: the limit holds while the body streams in
        async with client.request(path, method="POST", headers=headers) as connection:
            await connection.send(body)
            await connection.send_complete()
            await connection.receive()
        status = connection.status_code
    else:
        status = (await client.post(path, data=body, headers=headers)).status_code
    assert status == 413


async def test_the_webhook_keeps_its_own_limit(app: Quart) -> None:
    response = await app.test_client().post("/api/v1/webhooks/alertmanager", data=b"{" + b" " * WEBHOOK_MAX + b"}",
                                            headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "WEBHOOK_MAX_BYTES" in (await response.get_json())["error"]["message"]
    accepted = await app.test_client().post("/api/v1/webhooks/alertmanager", data=b"{" + b" " * MAX_BODY_BYTES + b"}",
                                            headers={"Content-Type": "application/json"})
    assert accepted.status_code == 422  # read whole (no alert in it), not refused for its size
