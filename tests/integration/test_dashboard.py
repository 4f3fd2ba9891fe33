"""The dashboard through Quart's test client: sign-in and its cookie, refusals, filters, pages, escaping, headers."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from quart.typing import TestClientProtocol as Client

from store.db import Database
from store.tokens import create_token, revoke_token
from tests.support.api import api_settings, running_app, seed_incident
from tests.support.dashboard import alert_group
from web.app import create_app
from web.settings import ChannelDefaults

SECURE_COOKIE = "__Host-tocsin_session"
PLAIN_COOKIE = "tocsin_session"
TITLE = r'class="title"><a href="/incidents/\d+"><span class="phone-only">#\d+ </span>([^<]+)</a>'


async def sign_in(client: Client, token: str, **headers: str) -> Any:
    """POST the login form; the response."""
    return await client.post("/login", form={"token": token, "next": "/"}, headers=headers)


def cookie_header(set_cookie: str) -> dict[str, str]:
    """The Cookie header a browser sends back for this Set-Cookie."""
    return {"Cookie": set_cookie.split(";", 1)[0]}


async def text(response: Any) -> str:
    return (await response.get_data()).decode()


async def test_pages_need_a_signed_in_viewer(database_url: str) -> None:
    async with running_app(database_url) as (_, client):
        page = await client.get("/")
        assert page.status_code == 303
        assert page.headers["Location"] == "/login?next=%2F"
        detail = await client.get("/incidents/1?x=1")
        assert detail.headers["Location"] == "/login?next=%2Fincidents%2F1%3Fx%3D1"
        stream = await client.get("/dashboard/events")
        assert stream.status_code == 401
        login = await client.get("/login?next=/incidents/1")
        body = await text(login)
        assert login.status_code == 200
        assert '<label for="token">API token</label>' in body
        assert 'value="/incidents/1"' in body


async def test_sign_in_refuses_a_bad_token_and_keeps_a_good_one_in_a_strict_httponly_cookie(
    database_url: str, db: Database
) -> None:
    _, token = await create_token(db, "wall", "viewer")
    async with running_app(database_url) as (_, client):  # PUBLIC_URL is https://tocsin.example
        bad = await sign_in(client, "not-a-token")
        assert bad.status_code == 401
        assert "This token is unknown or revoked" in await text(bad)
        assert "Set-Cookie" not in bad.headers
        empty = await sign_in(client, "  ")
        assert empty.status_code == 400
        assert "Enter an API token" in await text(empty)

        good = await sign_in(client, token)
        assert good.status_code == 303
        assert good.headers["Location"] == "/"
        cookie = good.headers["Set-Cookie"]
        assert cookie.startswith(f"{SECURE_COOKIE}={token};")
        for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
            assert attribute in cookie
        page = await client.get("/", headers=cookie_header(cookie))
        assert page.status_code == 200
        assert "Signed in as <strong>wall</strong> (viewer)" in await text(page)


async def test_over_plain_http_the_cookie_is_not_secure(database_url: str, db: Database) -> None:
    _, token = await create_token(db, "laptop", "viewer")
    async with running_app(database_url, public_url="http://localhost:8080") as (_, client):
        good = await sign_in(client, token)
        cookie = good.headers["Set-Cookie"]
        assert cookie.startswith(f"{PLAIN_COOKIE}={token};")
        assert "Secure" not in cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert (await client.get("/", headers=cookie_header(cookie))).status_code == 200


async def test_a_revoked_token_ends_the_session(database_url: str, db: Database) -> None:
    _, token = await create_token(db, "gone", "responder")
    async with running_app(database_url) as (_, client):
        headers = {"Cookie": f"{SECURE_COOKIE}={token}"}
        assert (await client.get("/", headers=headers)).status_code == 200
        await revoke_token(db, "gone")
        page = await client.get("/", headers=headers)
        assert page.status_code == 303
        assert page.headers["Location"] == "/login?next=%2F&reason=ended"
        assert f"{SECURE_COOKIE}=;" in ";".join(page.headers.get_all("Set-Cookie"))
        login = await client.get("/login?reason=ended")
        assert "its token was revoked or is unknown" in await text(login)
        assert (await sign_in(client, token)).status_code == 401


async def test_sign_out_clears_the_cookie_and_foreign_posts_are_refused(database_url: str, db: Database) -> None:
    _, token = await create_token(db, "desk", "admin")
    async with running_app(database_url) as (_, client):
        foreign = await sign_in(client, token, Origin="https://evil.example")
        assert foreign.status_code == 403
        same = await sign_in(client, token, Origin="https://tocsin.example")
        assert same.status_code == 303
        out = await client.post("/logout", headers={"Origin": "https://tocsin.example"})
        assert out.status_code == 303
        assert out.headers["Location"] == "/login?reason=signed_out"
        cleared = ";".join(out.headers.get_all("Set-Cookie"))
        assert f"{SECURE_COOKIE}=;" in cleared and f"{PLAIN_COOKIE}=;" in cleared
        assert (await client.post("/logout", headers={"Origin": "https://evil.example"})).status_code == 403


async def test_sign_in_goes_back_only_to_a_page_of_this_site(database_url: str, db: Database) -> None:
    _, token = await create_token(db, "nav", "viewer")
    async with running_app(database_url) as (_, client):
        for target, expected in [("/incidents/3", "/incidents/3"), ("//evil.example/x", "/"),
                                 ("https://evil.example/", "/"), ("/\\evil.example", "/")]:
            response = await client.post("/login", form={"token": token, "next": target})
            assert response.headers["Location"] == expected, target


async def test_anonymous_read_shows_the_pages_without_signing_in(database_url: str) -> None:
    async with running_app(database_url, anonymous_read=True) as (_, client):
        page = await client.get("/")
        assert page.status_code == 200
        body = await text(page)
        assert "Anonymous read" in body and "Sign out" not in body
        assert "No incidents yet" in body


async def test_filters_narrow_the_list_and_counters_count_open_incidents(database_url: str, db: Database) -> None:
    await seed_incident(db, title="Disk full on db-1", severity="critical", labels={"team": "infra"})
    await seed_incident(db, title="Latency on checkout", severity="warning", status="acknowledged",
                        labels={"team": "payments"})
    await seed_incident(db, title="Old disk alarm", severity="info", status="resolved", labels={"team": "infra"})
    async with running_app(database_url, anonymous_read=True) as (_, client):
        async def titles(query: str) -> list[str]:
            response = await client.get("/" + query)
            assert response.status_code == 200, await text(response)
            return re.findall(TITLE, await text(response))

        assert await titles("") == ["Old disk alarm", "Latency on checkout", "Disk full on db-1"]
        assert await titles("?status=triggered") == ["Disk full on db-1"]
        assert await titles("?severity=warning") == ["Latency on checkout"]
        assert await titles("?team=infra") == ["Old disk alarm", "Disk full on db-1"]
        assert await titles("?q=disk") == ["Old disk alarm", "Disk full on db-1"]
        assert await titles("?q=disk&status=resolved") == ["Old disk alarm"]
        assert await titles("?sort=severity") == ["Disk full on db-1", "Latency on checkout", "Old disk alarm"]
        assert await titles("?status=&severity=&team=&q=") == await titles("")
        body = await text(await client.get("/"))
        assert 'data-count="status-triggered">1<' in body
        assert 'data-count="status-acknowledged">1<' in body
        assert 'data-count="severity-critical">1<' in body
        assert 'data-count="severity-info">0<' in body  # resolved: not open


async def test_bad_parameters_answer_a_clear_html_page(database_url: str) -> None:
    async with running_app(database_url, anonymous_read=True) as (_, client):
        bad = await client.get("/?status=open")
        assert bad.status_code == 422
        assert bad.content_type.startswith("text/html")
        assert "status: expected one of triggered, acknowledged, resolved, not &#39;open&#39;" in await text(bad)
        cursor = await client.get("/?cursor=garbage")
        assert cursor.status_code == 422
        assert "cursor" in await text(cursor)
        assert (await client.get("/?period=1y")).status_code == 422
        missing = await client.get("/incidents/999")
        assert missing.status_code == 404
        assert "incident #999 does not exist" in await text(missing)
        assert (await client.get("/incidents/abc")).status_code == 404


async def test_pages_follow_the_keyset_cursor(database_url: str, db: Database) -> None:
    for n in range(53):
        await seed_incident(db, title=f"incident {n}")
    async with running_app(database_url, anonymous_read=True) as (_, client):
        first = await text(await client.get("/"))
        assert first.count('<tr data-id="') == 50
        link = re.search(r'<a href="(/\?cursor=[^"]+)" rel="next">Next page</a>', first)
        assert link is not None
        second = await text(await client.get(link.group(1).replace("&amp;", "&")))
        assert second.count('<tr data-id="') == 3
        assert "Next page" not in second and "First page" in second


async def test_the_incident_page_shows_alerts_timeline_links_and_escapes_every_value(database_url: str) -> None:
    body = alert_group("HtmlInLabels", extra_labels={"evil": "<script>alert(1)</script>"},
                       annotations={"runbook_url": "javascript:alert(1)", "note": "<b>bold</b>"})
    body["alerts"][1]["annotations"]["runbook_url"] = "https://runbooks.example/html"
    async with running_app(database_url, anonymous_read=True) as (_, client):
        posted = await client.post("/api/v1/webhooks/alertmanager", json=body)
        (incident_id,) = (await posted.get_json())["incidents"]
        page = await client.get(f"/incidents/{incident_id}")
        html = await text(page)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="javascript:' not in html
    assert '<a href="https://runbooks.example/html" rel="noreferrer">Runbook</a>' in html
    assert 'href="http://prometheus.example/graph?g0.expr=HtmlInLabels" rel="noreferrer">Source graph</a>' in html
    assert "Alertmanager</a>" in html
    assert html.count('<article class="alert card"') == 2
    assert "Opened by Alertmanager" in html and "via alertmanager" in html
    assert "firing" in html


async def test_alertmanager_url_gives_the_link_when_the_webhook_had_none(database_url: str, db: Database) -> None:
    incident_id = await seed_incident(db, title="by hand", group_labels={"alertname": "X"})
    settings = replace(api_settings(database_url, anonymous_read=True), alertmanager_url="http://am.internal:9093")
    app = create_app(settings, database_url)
    async with app.test_app():
        html = await text(await app.test_client().get(f"/incidents/{incident_id}"))
    assert 'href="http://am.internal:9093/#/alerts?filter=%7Balertname%3D%22X%22%7D"' in html


async def test_pages_send_security_headers_and_no_inline_script(database_url: str) -> None:
    async with running_app(database_url, anonymous_read=True) as (_, client):
        page = await client.get("/")
        html = await text(page)
        asset = re.search(r'href="(/dashboard/static/dashboard.css\?v=\w+)"', html)
        assert asset is not None
        static = await client.get(asset.group(1))
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all('src="/dashboard/static/' in s or 'type="application/json"' in s for s in scripts)
    assert "http://" not in " ".join(re.findall(r'(?:src|href)="([^"]+)"', html))  # nothing from another site
    assert static.status_code == 200
    assert static.headers["X-Content-Type-Options"] == "nosniff"
    assert static.headers["Cache-Control"] == "public, max-age=31536000, immutable"


async def test_the_incident_page_shows_the_delivery_status_of_each_channel(database_url: str) -> None:
    base = api_settings(database_url, anonymous_read=True)
    settings = replace(base, channels=ChannelDefaults(email_to=("ops@example.com",)))  # email off: stays pending
    app = create_app(settings, database_url)
    async with app.test_app():
        client = app.test_client()
        posted = await client.post("/api/v1/webhooks/alertmanager", json=alert_group("Mailed"))
        (incident_id,) = (await posted.get_json())["incidents"]
        html = await text(await client.get(f"/incidents/{incident_id}"))
    assert '<th scope="rowgroup" rowspan="1">email <span class="badge delivery-pending">pending</span></th>' in html
    assert "<td>ops@example.com</td>" in html
