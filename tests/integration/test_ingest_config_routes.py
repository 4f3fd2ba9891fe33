"""Routes from the config file steer ingestion: first match wins, each route groups and resolves its own way."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from store.db import Database
from store.domain.config_schema import parse_config
from store.domain.routing import Route
from store.ingest import ingest_batch
from tests.conftest import load_sample
from webhook.alertmanager import parse_webhook

ROUTES = """
routes:
  - id: pages
    match: ['severity="critical"', 'service=~"check.*"']
    group_by: [alertname, instance]
    auto_resolve: false
  - id: never
    match: ['service="billing"']
"""


async def test_config_routes_pick_grouping_and_auto_resolve(db: Database) -> None:
    routes = parse_config(yaml.safe_load(ROUTES), Route(id="default", email=("ops@example.com",))).routes
    now = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)
    result = await ingest_batch(
        db, parse_webhook(load_sample("02_firing_group_3alerts_curl_added.json")), routes, lambda: now
    )
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT route_id, group_key, auto_resolve, alert_count FROM incidents WHERE id = ANY($1) ORDER BY id",
            result.incident_ids,
        )
    by_route = sorted((r["route_id"], r["alert_count"], r["auto_resolve"]) for r in rows)
    # web-1 and web-3 are critical: one incident each (grouped by instance); web-2 is a warning: the default route
    assert by_route == [("default", 1, True), ("pages", 1, False), ("pages", 1, False)]
    assert all(r["group_key"].startswith(f"{r['route_id']}|") for r in rows)
