"""/metrics counts SLA breaches by kind and route and shows the time left on open incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from store import sla
from store.db import Database
from store.domain.config_schema import parse_config
from store.ingest import ingest_batch
from tests.support.api import running_app
from tests.support.escalation import Clock
from tests.support.incidents import firing_body
from webhook.alertmanager import parse_webhook

CONFIG = parse_config({"routes": [{"id": "shop", "match": ['team="shop"'], "sla": {"ack": "5m", "resolve": "1d"}}]})


def samples(text: str, name: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["kind"], s.labels["route"]): s.value
        for family in text_string_to_metric_families(text) for s in family.samples if s.name == name
    }


async def test_breaches_and_time_left(database_url: str, db: Database) -> None:
    now = datetime.now(UTC)
    opened = now - timedelta(minutes=10)
    await ingest_batch(db, parse_webhook(firing_body("late", labels={"team": "shop"})), CONFIG.routes, Clock(opened))
    async with running_app(database_url, CONFIG) as (_, client):
        recorded = await sla.record_breaches(db, CONFIG, now)
        assert [(b.kind, b.route_id) for b in recorded] == [("ack", "shop")]
        text = await (await client.get("/metrics")).get_data(as_text=True)
    assert samples(text, "tocsin_sla_breaches_total") == {("ack", "shop"): 1.0}
    left = samples(text, "tocsin_sla_time_left_seconds")
    assert set(left) == {("ack", "shop"), ("resolve", "shop")}
    assert -330 < left[("ack", "shop")] < -290  # five minutes overdue
    assert 86400 - 660 - 30 < left[("resolve", "shop")] <= 86400 - 600  # a day less the ten minutes gone
