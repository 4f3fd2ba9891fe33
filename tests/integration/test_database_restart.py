"""PostgreSQL restarting under Tocsin: 503s while it is down, the pool recovers, nothing lost or doubled."""

from __future__ import annotations

from pathlib import Path

from store.embedded import EmbeddedPostgres
from store.migrate import upgrade
from tests.conftest import load_sample
from web.app import create_app
from web.settings import load_settings

URL = "/api/v1/webhooks/alertmanager"


async def test_requests_during_an_outage_get_503_and_the_retry_is_stored_once(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    dsn = server.start()
    try:
        await upgrade(dsn)
        app = create_app(load_settings({"DATABASE_URL": dsn, "DB_MAX_IDLE_CONNS": "2"}), dsn)
        async with app.test_app():
            client = app.test_client()
            first = await client.post(URL, json=load_sample("01_firing_group_2alerts_amtool.json"))
            assert first.status_code == 200

            server.stop()
            during = await client.post(URL, json=load_sample("02_firing_group_3alerts_curl_added.json"))
            assert during.status_code == 503
            assert (await client.get("/readyz")).status_code == 503

            assert server.start() == dsn
            # Alertmanager sends the same body again; the pool reconnects by itself.
            statuses = []
            for _ in range(3):
                response = await client.post(URL, json=load_sample("02_firing_group_3alerts_curl_added.json"))
                statuses.append(response.status_code)
            assert statuses[-1] == 200
            assert set(statuses) <= {200, 503}
            assert (await client.get("/readyz")).status_code == 200
            async with app.extensions["tocsin"].db.connection() as conn:
                assert await conn.fetchval("SELECT count(*) FROM incidents") == 1
                assert await conn.fetchval("SELECT count(*) FROM alerts") == 3
                kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM incident_events ORDER BY id")]
            assert kinds == ["opened", "alert_firing", "alert_firing", "alert_firing"]
    finally:
        server.stop()
