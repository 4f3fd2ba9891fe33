"""/metrics shows an operator trouble: delivery backlog and its age, retries and failures by channel, escalation
lag, and the database pools' use."""

from __future__ import annotations

import re

from quart import Quart

from store.db import Database
from store.runtime import Runtime
from store.sql import escalations as escalations_sql
from tests.support.incidents import EMAIL_ONLY, open_incident
from tests.support.server import free_port
from tests.support.waiting import eventually
from web.app import create_app
from web.metrics import Metrics
from web.settings import load_settings


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in the exposition text (None when absent)."""
    label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name + (f"{{{label_text}}}" if labels else "")) + r" ([-+0-9.e]+|NaN)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else None


async def scrape(app: Quart) -> str:
    """GET /metrics now, bypassing the throttle on database reads."""
    app.extensions["tocsin_metrics"]._refreshed_at = float("-inf")
    return await (await app.test_client().get("/metrics")).get_data(as_text=True)


async def test_pools_backlog_age_and_retries_of_an_unreachable_smtp_server(db: Database, database_url: str) -> None:
    env = {
        "DATABASE_URL": database_url, "DB_MAX_OPEN_CONNS": "7", "EMAIL_SMTP_HOST": "127.0.0.1",
        "EMAIL_SMTP_PORT": str(free_port()), "EMAIL_TLS": "none", "EMAIL_FROM": "tocsin@example.com",
        "EMAIL_TO": "ops@example.com", "DELIVERY_RETRY_BASE": "30s",
    }
    app = create_app(load_settings(env), database_url)
    async with app.test_app():
        text = await scrape(app)
        assert sample(text, "tocsin_db_pool_max_connections", pool="main") == 7
        assert sample(text, "tocsin_db_pool_max_connections", pool="delivery") == 4
        assert sample(text, "tocsin_db_pool_max_connections", pool="ingest") == 2
        for pool in ("main", "ingest", "delivery"):
            opened = sample(text, "tocsin_db_pool_connections", pool=pool, state="open")
            in_use = sample(text, "tocsin_db_pool_connections", pool=pool, state="in_use")
            idle = sample(text, "tocsin_db_pool_connections", pool=pool, state="idle")
            assert opened is not None and opened >= 1 and in_use is not None and idle is not None
            assert in_use + idle == opened
        main = app.extensions["tocsin"].db
        async with main.connection(), main.connection():
            held = await scrape(app)
        assert (sample(held, "tocsin_db_pool_connections", pool="main", state="in_use") or 0) >= 2

        await open_incident(db, routes=EMAIL_ONLY)

        async def retried() -> bool:
            text = await scrape(app)
            return (sample(text, "tocsin_delivery_attempts_total", channel="email", outcome="retry") or 0) >= 1

        await eventually(retried, within=20, what="a failed attempt counted as a retry")
        text = await scrape(app)
        assert sample(text, "tocsin_deliveries_pending", channel="email") == 1
        assert (sample(text, "tocsin_delivery_oldest_pending_seconds", channel="email") or 0) > 0
        assert sample(text, "tocsin_deliveries_failed", channel="email") == 0

        async with db.connection() as conn:
            await conn.execute("UPDATE deliveries SET state = 'failed'")
        text = await scrape(app)
        assert sample(text, "tocsin_deliveries_failed", channel="email") == 1
        assert sample(text, "tocsin_deliveries_pending", channel="email") == 0
        assert sample(text, "tocsin_delivery_oldest_pending_seconds", channel="email") == 0


async def test_escalation_lag_is_the_age_of_the_most_overdue_step(db: Database) -> None:
    metrics = Metrics()
    first, second = await open_incident(db, group="a"), await open_incident(db, group="b")
    async with db.connection() as conn:
        now = await conn.fetchval("SELECT now()")
        await escalations_sql.start(conn, first, "default", now)
        await escalations_sql.start(conn, second, "default", now)
        await conn.execute("UPDATE incident_escalations SET next_due_at = now() - interval '90 seconds' "
                           "WHERE incident_id = $1", first)
        await conn.execute("UPDATE incident_escalations SET next_due_at = now() + interval '1 hour' "
                           "WHERE incident_id = $1", second)
    await metrics.refresh({"tocsin": Runtime(db=db)})
    text = metrics.exposition().decode()
    assert sample(text, "tocsin_escalations_due") == 1
    lag = sample(text, "tocsin_escalation_lag_seconds")
    assert lag is not None and 90 <= lag < 150

    async with db.connection() as conn:
        await escalations_sql.stop(conn, first)
    metrics._refreshed_at = float("-inf")
    await metrics.refresh({"tocsin": Runtime(db=db)})
    text = metrics.exposition().decode()
    assert sample(text, "tocsin_escalations_due") == 0 and sample(text, "tocsin_escalation_lag_seconds") == 0
