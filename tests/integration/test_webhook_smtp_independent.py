"""The webhook answers the same whether SMTP is up, hanging or down: sending is never on its path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.email.settings import EmailSettings
from store.settings import DatabaseSettings
from tests.support.incidents import EMAIL_ONLY, firing_body
from tests.support.smtp import SilentServer, SmtpSink
from tests.support.waiting import eventually
from web.app import create_app
from web.settings import HttpSettings, Settings

URL = "/api/v1/webhooks/alertmanager"


def app_for(database_url: str, smtp_port: int):
    email = EmailSettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        from_addr="tocsin@example.com",
        tls="none",
        public_url="http://tocsin.test",
        timeout=60,
    )
    settings = Settings(
        http=HttpSettings(public_url="http://tocsin.test"),
        email=email,
        database=DatabaseSettings(url=database_url, max_open_conns=5),
    )
    return create_app(settings, database_url, EMAIL_ONLY)


async def delivery_states(app) -> list[tuple[int, str]]:
    async with app.extensions["tocsin"].db.connection() as conn:
        found = await conn.fetch("SELECT incident_id, state FROM deliveries ORDER BY id")
    return [(r["incident_id"], r["state"]) for r in found]


@pytest.fixture
async def silent() -> AsyncIterator[SilentServer]:
    server = SilentServer()
    await server.start()
    yield server
    await server.stop()


async def test_webhook_answers_while_smtp_hangs_mid_send(database_url: str, silent: SilentServer) -> None:
    app = app_for(database_url, silent.port)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        first = await client.post(URL, json=firing_body("g1"))
        assert first.status_code == 200
        [incident_id] = (await first.get_json())["incidents"]
        await asyncio.wait_for(silent.connected.wait(), 10)  # the worker is now stuck in an SMTP conversation
        assert await delivery_states(app) == [(incident_id, "sending")]
        second = await client.post(URL, json=firing_body("g2"))
        assert second.status_code == 200
        [other_id] = (await second.get_json())["incidents"]
        # Answered while the first mail still hangs in the SMTP conversation (its send has no result yet).
        states = dict(await delivery_states(app))
        assert states[incident_id] == "sending" and states[other_id] in ("pending", "sending")
        await silent.stop()  # let the hung sends fail now, so that shutdown does not wait for them


async def test_webhook_answers_when_smtp_is_down(database_url: str) -> None:
    down = SmtpSink()
    port = await down.start()
    await down.stop()  # a port nobody listens on
    app = app_for(database_url, port)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.post(URL, json=firing_body("g1"))
        assert response.status_code == 200

        async def attempted() -> bool:
            async with app.extensions["tocsin"].db.connection() as conn:
                return bool(await conn.fetchval("SELECT attempts >= 1 AND last_error IS NOT NULL FROM deliveries"))

        await eventually(attempted, within=10.0)
        again = await client.post(URL, json=firing_body("g2"))
        assert again.status_code == 200
        states = [s for _, s in await delivery_states(app)]
        assert len(states) == 2 and set(states) <= {"pending", "sending"}  # stored, waiting for SMTP to come back


async def test_webhook_answers_when_smtp_is_up_and_the_mail_follows(database_url: str) -> None:
    sink = SmtpSink()
    port = await sink.start()
    app = app_for(database_url, port)
    try:
        async with app.test_app() as test_app:
            response = await test_app.test_client().post(URL, json=firing_body("g1"))
            assert response.status_code == 200
            [incident_id] = (await response.get_json())["incidents"]
            [mail] = await sink.wait_for(1)
    finally:
        await sink.stop()
    assert mail.message["Subject"].startswith(f"[TRIGGERED] #{incident_id} ")
