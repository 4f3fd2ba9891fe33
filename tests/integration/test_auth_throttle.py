"""Throttled authentication failures on every surface: 429 after AUTH_FAILURE_LIMIT, per address, on every
replica, across restarts, expiring with the window; good tokens from elsewhere are never slowed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nacl.signing import SigningKey
from quart import Quart

from store.db import create_database
from store.domain.config_schema import parse_config
from store.settings import DatabaseSettings
from store.throttle import EXTENSION
from store.tokens import create_token
from tests.conftest import load_sample
from tests.support import discord_api, mattermost_api
from tests.support.discord_api import DiscordApi
from tests.support.mattermost_api import MattermostApi, command_form
from tests.support.slack_api import SlackApi, signed_headers
from tests.support.telegram_api import FakeTelegramApi
from web.app import create_app
from web.settings import load_settings

WEBHOOK = "/api/v1/webhooks/alertmanager"
TOKEN = "webhook-token-for-the-throttle-test"
WRONG = "wrong-token-offered-by-an-attacker"
ATTACKER, ALERTMANAGER, PROXY = ("192.0.2.66", 40000), ("192.0.2.10", 40001), ("127.0.0.1", 40002)
SIGNING = "slack-signing-secret-of-the-test"
TG_SECRET = "telegram-webhook-secret-of-the-test"
TG_TOKEN = "123456:" + "A" * 30


def env(database_url: str, **extra: str) -> dict[str, str]:
    return {"WEBHOOK_TOKEN": TOKEN, "DATABASE_URL": database_url, "AUTH_FAILURE_LIMIT": "3",
            "AUTH_FAILURE_WINDOW": "10m", **extra}


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Quart]:
    application = create_app(load_settings(env(database_url)), database_url)
    async with application.test_app():
        yield application


async def post_webhook(app: Quart, token: str, client: tuple[str, int], **headers: str) -> Any:
    return await app.test_client().post(WEBHOOK, json=load_sample("05_firing_from_prometheus.json"),
                                        headers={"Authorization": f"Bearer {token}", **headers},
                                        scope_base={"client": client})


async def failure_rows(app: Quart) -> dict[str, int]:
    async with app.extensions["tocsin"].db.connection() as conn:
        return dict(await conn.fetch("SELECT client, failures FROM auth_failures"))


async def metric(app: Quart, surface: str) -> float:
    text = (await (await app.test_client().get("/metrics")).get_data(as_text=True)).splitlines()
    line = next(x for x in text if x.startswith(f'tocsin_auth_failures_total{{surface="{surface}"}}'))
    return float(line.split()[-1])


async def test_webhook_blocks_the_guessing_address_only(app: Quart, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):
        assert (await post_webhook(app, WRONG, ATTACKER)).status_code == 401
    blocked = await post_webhook(app, TOKEN, ATTACKER)  # even the right token: the guessing stops here
    assert blocked.status_code == 429
    assert (await blocked.get_json())["error"]["code"] == "too_many_failures"
    assert 590 <= int(blocked.headers["Retry-After"]) <= 600
    assert (await post_webhook(app, TOKEN, ALERTMANAGER)).status_code == 200  # another address: untouched
    assert await failure_rows(app) == {ATTACKER[0]: 3}
    assert await metric(app, "webhook") == 3
    assert WRONG not in caplog.text and TOKEN not in caplog.text
    assert "blocked" in caplog.text and ATTACKER[0] in caplog.text


async def test_a_sender_of_good_tokens_is_never_counted(app: Quart) -> None:
    for _ in range(10):
        assert (await post_webhook(app, TOKEN, ALERTMANAGER)).status_code == 200
    assert await failure_rows(app) == {}


async def test_good_tokens_cost_no_throttle_query(app: Quart, database_url: str) -> None:
    """The throttle's pool is closed: the good path never needs it, a failure is still refused (uncounted)."""
    throttle = app.extensions[EXTENSION]
    closed = await create_database(database_url, DatabaseSettings(url=database_url, max_open_conns=1))
    await closed.close()
    throttle.db = closed
    assert (await post_webhook(app, TOKEN, ALERTMANAGER)).status_code == 200
    assert (await post_webhook(app, WRONG, ATTACKER)).status_code == 401


async def test_api_tokens_and_dashboard_sign_in(app: Quart) -> None:
    _, token = await create_token(app.extensions["tocsin"].db, "viewer", "viewer")
    client = app.test_client()

    async def api(bearer: str, who: tuple[str, int]) -> int:
        response = await client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {bearer}"},
                                    scope_base={"client": who})
        return response.status_code

    async def sign_in(value: str, who: tuple[str, int]) -> Any:
        return await client.post("/login", form={"token": value, "next": "/"}, scope_base={"client": who})

    assert [await api(WRONG, ATTACKER) for _ in range(2)] == [401, 401]
    assert (await sign_in(WRONG, ATTACKER)).status_code == 401  # the third failure, on another surface
    assert await api(token, ATTACKER) == 429
    page = await sign_in(token, ATTACKER)
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert await api(token, ALERTMANAGER) == 200
    assert (await sign_in(token, ALERTMANAGER)).status_code == 303
    assert await metric(app, "api") == 2 and await metric(app, "dashboard") == 1


async def test_x_forwarded_for_only_from_trusted_proxies(database_url: str) -> None:
    trusting = create_app(load_settings(env(database_url, TRUSTED_PROXIES="127.0.0.0/8")), database_url)
    async with trusting.test_app():
        for _ in range(3):
            await post_webhook(trusting, WRONG, PROXY, **{"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
        assert await failure_rows(trusting) == {"198.51.100.7": 3}
        assert (await post_webhook(trusting, TOKEN, PROXY, **{"X-Forwarded-For": "198.51.100.7"})).status_code == 429
        assert (await post_webhook(trusting, TOKEN, PROXY, **{"X-Forwarded-For": "198.51.100.8"})).status_code == 200
        # An untrusted peer cannot step out of its block by naming another address.
        for _ in range(3):
            await post_webhook(trusting, WRONG, ATTACKER)
        spoofed = await post_webhook(trusting, TOKEN, ATTACKER, **{"X-Forwarded-For": "198.51.100.9"})
        assert spoofed.status_code == 429


async def test_a_block_holds_on_every_replica_and_after_a_restart(database_url: str) -> None:
    first = create_app(load_settings(env(database_url)), database_url)
    second = create_app(load_settings(env(database_url)), database_url)
    async with first.test_app(), second.test_app():
        await post_webhook(first, WRONG, ATTACKER)
        await post_webhook(second, WRONG, ATTACKER)  # counted together: 2 of 3
        await post_webhook(first, WRONG, ATTACKER)
        assert (await post_webhook(first, TOKEN, ATTACKER)).status_code == 429
        await second.extensions[EXTENSION].refresh()  # what its scheduler does every few seconds
        assert (await post_webhook(second, TOKEN, ATTACKER)).status_code == 429
    restarted = create_app(load_settings(env(database_url)), database_url)
    async with restarted.test_app():
        assert (await post_webhook(restarted, TOKEN, ATTACKER)).status_code == 429
        assert (await post_webhook(restarted, TOKEN, ALERTMANAGER)).status_code == 200


async def test_windows_expire_and_their_rows_go(database_url: str) -> None:
    app = create_app(load_settings(env(database_url, AUTH_FAILURE_WINDOW="2s")), database_url)
    async with app.test_app():
        for _ in range(3):
            await post_webhook(app, WRONG, ATTACKER)
        assert (await post_webhook(app, TOKEN, ATTACKER)).status_code == 429
        deadline = time.monotonic() + 30
        while (await post_webhook(app, TOKEN, ATTACKER)).status_code == 429:
            assert time.monotonic() < deadline, "the block outlived its window"
            await asyncio.sleep(0.5)
        await app.extensions[EXTENSION].refresh()
        assert await failure_rows(app) == {}  # ended windows leave nothing behind


async def test_slack_signatures_and_telegram_secret(database_url: str) -> None:
    telegram = await FakeTelegramApi(tokens=[TG_TOKEN]).start()
    slack_api = SlackApi()
    await slack_api.start()
    try:
        settings = load_settings(env(
            database_url, SLACK_BOT_TOKEN="xoxb-throttle", SLACK_SIGNING_SECRET=SIGNING,
            SLACK_API_URL=slack_api.api_url, TELEGRAM_BOT_TOKEN=TG_TOKEN,
            TELEGRAM_WEBHOOK_SECRET=TG_SECRET, TELEGRAM_API_URL=telegram.url, AUTH_FAILURE_LIMIT="2"))
        app = create_app(settings, database_url)
        async with app.test_app():
            client = app.test_client()
            body = b"command=%2Fincident&text=help&user_id=U1&response_url=" + slack_api.url.encode()

            async def slack(secret: str, who: tuple[str, int]) -> int:
                response = await client.post("/slack/events", data=body, headers=signed_headers(secret, body),
                                             scope_base={"client": who})
                return response.status_code

            async def tg(secret: str, who: tuple[str, int]) -> int:
                response = await client.post("/telegram/webhook", json={"update_id": 1},
                                             headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                                             scope_base={"client": who})
                return response.status_code

            assert [await slack("not-the-secret", ATTACKER) for _ in range(2)] == [401, 401]
            assert await slack(SIGNING, ATTACKER) == 429
            assert await slack(SIGNING, ALERTMANAGER) == 200
            other = ("192.0.2.77", 1)
            assert [await tg("not-the-secret", other) for _ in range(2)] == [403, 403]
            assert await tg(TG_SECRET, other) == 429
            assert await tg(TG_SECRET, ALERTMANAGER) == 200
            assert await metric(app, "slack") == 2 and await metric(app, "telegram") == 2
    finally:
        await telegram.stop()
        await slack_api.stop()


async def test_discord_signatures_and_mattermost_tokens(database_url: str) -> None:
    discord, mattermost = await DiscordApi().start(), await MattermostApi().start()
    try:
        settings = load_settings(env(
            database_url, DISCORD_BOT_TOKEN=discord_api.TOKEN, DISCORD_PUBLIC_KEY=discord.public_key,
            DISCORD_APPLICATION_ID=discord_api.APPLICATION_ID, DISCORD_API_URL=discord.api_url,
            MATTERMOST_URL=mattermost.url, MATTERMOST_BOT_TOKEN=mattermost_api.TOKEN,
            MATTERMOST_ACTION_SECRET="mattermost-action-secret-of-the-test",
            MATTERMOST_COMMAND_TOKEN=mattermost_api.COMMAND_TOKEN, AUTH_FAILURE_LIMIT="2"))
        app = create_app(settings, database_url)
        async with app.test_app():
            client = app.test_client()
            forger = SigningKey.generate()  # signs as well as Discord does, with a key Tocsin does not know

            async def ping(key: SigningKey | None, who: tuple[str, int]) -> int:
                body, headers = discord.signed({"type": 1, "id": "1", "application_id": discord_api.APPLICATION_ID},
                                               key=key)
                response = await client.post("/discord/interactions", data=body, headers=headers,
                                             scope_base={"client": who})
                return response.status_code

            async def command(token: str, who: tuple[str, int]) -> int:
                response = await client.post("/mattermost/command", data=command_form("help", "u" * 26, "alice", token),
                                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                                             scope_base={"client": who})
                return response.status_code

            assert [await ping(forger, ATTACKER) for _ in range(2)] == [401, 401]
            assert await ping(None, ATTACKER) == 429
            assert await ping(None, ALERTMANAGER) == 200
            other = ("192.0.2.77", 1)
            assert [await command("wrongcommandtoken000000000", other) for _ in range(2)] == [401, 401]
            assert await command(mattermost_api.COMMAND_TOKEN, other) == 429
            assert await command(mattermost_api.COMMAND_TOKEN, ALERTMANAGER) == 200
            assert await metric(app, "discord") == 2 and await metric(app, "mattermost") == 2
            assert await failure_rows(app) == {ATTACKER[0]: 2, other[0]: 2}
    finally:
        await discord.stop()
        await mattermost.stop()


async def test_grafana_tokens_pagerduty_routing_keys_and_heartbeat_pings(database_url: str) -> None:
    config = parse_config({"integrations": [{"id": "sentry", "kind": "pagerduty_events", "routing_key": "a" * 32}],
                           "heartbeats": [{"id": "backup", "timeout": "1h"}]})
    application = create_app(load_settings(env(database_url)), database_url, config=config)
    event = {"routing_key": "b" * 32, "event_action": "trigger",
             "payload": {"summary": "disk full", "source": "db-1", "severity": "critical"}}
    wrong, right = {"Authorization": f"Bearer {WRONG}"}, {"Authorization": f"Bearer {TOKEN}"}
    async with application.test_app():
        client = application.test_client()
        guesses = [
            await client.post("/api/v1/webhooks/grafana", json={}, headers=wrong, scope_base={"client": ATTACKER}),
            await client.post("/v2/enqueue", json=event, scope_base={"client": ATTACKER}),
            await client.post("/api/v1/heartbeats/backup", headers=wrong, scope_base={"client": ATTACKER}),
        ]
        assert [r.status_code for r in guesses] == [401, 400, 401]
        blocked = await client.post("/api/v1/heartbeats/backup", headers=right, scope_base={"client": ATTACKER})
        assert blocked.status_code == 429 and blocked.headers["Retry-After"]
        refused = await client.post("/v2/enqueue", json={**event, "routing_key": "a" * 32},
                                    scope_base={"client": ATTACKER})
        assert refused.status_code == 429 and (await refused.get_json())["status"] != "success"
        pinged = await client.post("/api/v1/heartbeats/backup", headers=right, scope_base={"client": ALERTMANAGER})
        assert pinged.status_code == 200
        assert await metric(application, "webhook") == 2 and await metric(application, "events") == 1
