"""Single sign-on for the dashboard against a stand-in OpenID provider on loopback: the code flow with PKCE
signs in with the role the groups give; a wrong issuer, audience, nonce or signature, an expired token, or no
mapped group is refused; a provider that is down leaves token sign-in working and says so."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from store.db import Database
from tests.support.api import api_settings
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from web.app import create_app
from web.settings import OidcSettings

ROLES = (("staff", "viewer"), ("ops", "responder"), ("leads", "admin"))


@pytest.fixture
async def provider() -> AsyncIterator[OidcProvider]:
    running = await OidcProvider().start()
    yield running
    await running.stop()


@pytest.fixture
async def client(database_url: str, provider: OidcProvider) -> AsyncIterator[Any]:
    oidc = OidcSettings(provider.issuer, CLIENT_ID, CLIENT_SECRET, "groups", ROLES)
    app = create_app(replace(api_settings(database_url), oidc=oidc), database_url)
    async with app.test_app():
        yield app.test_client()


async def through_provider(client: Any, next_path: str = "/") -> Any:
    """Start sign-in, let the provider sign the person in, and come back to the callback; its answer."""
    start = await client.get(f"/auth/oidc/login?next={next_path}")
    assert start.status_code == 303, await start.get_data(as_text=True)
    authorize = start.headers["Location"]
    assert parse_qs(urlsplit(authorize).query)["code_challenge_method"] == ["S256"]
    async with aiohttp.ClientSession() as session, session.get(authorize, allow_redirects=False) as answer:
        assert answer.status == 302, await answer.text()
        back = urlsplit(answer.headers["Location"])
    assert back.path == "/auth/oidc/callback"
    return await client.get(f"{back.path}?{back.query}")


async def test_sign_in_with_the_provider_gives_the_role_of_the_groups(client: Any, provider: OidcProvider) -> None:
    login = await client.get("/login?next=/")
    assert 'id="sso-login"' in await login.get_data(as_text=True)
    back = await through_provider(client, "/?status=triggered")
    assert back.status_code == 303 and back.headers["Location"] == "/?status=triggered"
    (cookie,) = [c for c in back.headers.getlist("Set-Cookie") if c.startswith("tocsin_sso=")]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = await client.get("/")
    assert page.status_code == 200
    assert "Signed in as <strong>Alice Example</strong> (responder)" in await page.get_data(as_text=True)
    assert provider.refused == []  # the client secret, the code and the PKCE verifier were right


@pytest.mark.parametrize(("lie", "words"), [
    ({"iss": "http://127.0.0.1:1/other"}, "Invalid claim: &#39;iss&#39;"),
    ({"aud": "someone-else"}, "Invalid claim: &#39;aud&#39;"),
    ({"nonce": "replayed"}, "Invalid claim: &#39;nonce&#39;"),
    ({"exp": int(time.time()) - 3600}, "The token is expired"),
    ({"groups": ["visitors"]}, "your account is in no group that OIDC_ROLES maps to a role"),
])
async def test_a_lying_id_token_is_refused(client: Any, provider: OidcProvider, lie: dict, words: str) -> None:
    provider.lies = lie
    back = await through_provider(client)
    assert back.status_code == 401
    assert words in await back.get_data(as_text=True)
    assert (await client.get("/")).status_code == 303  # still signed out


async def test_a_token_signed_by_another_key_is_refused(client: Any, provider: OidcProvider) -> None:
    provider.foreign_key = True
    back = await through_provider(client)
    assert back.status_code == 401
    assert "the ID token&#39;s signature does not verify" in await back.get_data(as_text=True)


async def test_a_callback_not_started_here_is_refused(client: Any) -> None:
    forged = await client.get("/auth/oidc/callback?code=abc&state=guessed")
    assert forged.status_code == 400
    assert "This sign-in link is stale or was not started here" in await forged.get_data(as_text=True)


async def test_a_provider_that_is_down_leaves_token_sign_in_working(
    client: Any, provider: OidcProvider, db: Database
) -> None:
    from store.tokens import create_token

    await provider.stop()
    login = await client.get("/login")
    text = await login.get_data(as_text=True)
    assert login.status_code == 200 and 'id="sso-down"' in text
    assert "Single sign-on is unavailable right now" in text and "Sign in with an API token instead." in text
    assert (await client.get("/auth/oidc/login")).status_code == 503
    _, token = await create_token(db, "viewer", "viewer")
    signed = await client.post("/login", form={"token": token, "next": "/"})
    assert signed.status_code == 303
    assert (await client.get("/")).status_code == 200
