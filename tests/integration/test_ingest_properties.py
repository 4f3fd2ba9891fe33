"""After any sequence of webhooks, every incident's fields equal a recomputation from all of its alerts.

The ingest keeps an incident's title, severity, labels, summary, links and counts up to date from the
changes of each transaction (store/domain/derived.py) without reading the incident's other alerts. Here
random sequences of fire, repeat, resolve, supersede, reopen and changed annotations go through the real
ingest on real PostgreSQL, and after each webhook every incident is compared with `derive_fields` over
its stored alerts, the way the fields were computed before they were kept incrementally.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.db import create_database
from store.domain.derived import AlertView, full
from store.domain.grouping import AlertFacts, derive_fields
from store.domain.routing import Route, RouteTable
from store.ingest import ingest_batch
from store.settings import DatabaseSettings
from webhook.alertmanager import parse_webhook

if TYPE_CHECKING:
    from tests.support.postgres import TestPostgres

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROUTES = RouteTable(routes=(Route(id="default", reopen_within=timedelta(minutes=5)),))
HOSTS = ["a", "b", "c", "d"]
STEP = st.fixed_dictionaries({
    "op": st.sampled_from(["fire", "fire", "repeat", "resolve", "supersede", "annotate", "wait"]),
    "hosts": st.lists(st.sampled_from(HOSTS), min_size=1, max_size=3, unique=True),
    "severity": st.sampled_from(["critical", "warning", "info", None]),
    "summary": st.sampled_from(["", "disk full", "disk nearly full"]),
    "url": st.sampled_from(["", "http://prometheus/graph"]),
    "group": st.sampled_from(["g1", "g2"]),
})


class Sender:
    """What Alertmanager knows: each host's current instance (startsAt, status, annotations) per group."""

    def __init__(self) -> None:
        self.now = T0
        self.alerts: dict[tuple[str, str], dict[str, Any]] = {}

    def _alert(self, group: str, host: str) -> dict[str, Any]:
        return self.alerts[(group, host)]

    def step(self, step: dict[str, Any]) -> dict[str, Any] | None:
        """Apply one step to the model; the webhook body it makes Alertmanager send (None: nothing sent)."""
        group, op = step["group"], step["op"]
        self.now += timedelta(seconds=30)
        if op == "wait":
            self.now += timedelta(minutes=4)
            return None
        for host in step["hosts"]:
            known = self.alerts.get((group, host))
            if op == "fire" and (known is None or known["status"] == "resolved"):
                self.alerts[(group, host)] = self._new(group, host, step)
            elif op == "resolve" and known is not None:
                known.update(status="resolved", endsAt=self.now.isoformat())
            elif op == "supersede" and known is not None:
                self.alerts[(group, host)] = self._new(group, host, step)
            elif op == "annotate" and known is not None:
                known["annotations"] = {"summary": step["summary"]} if step["summary"] else {}
        alerts = [dict(a) for (g, _), a in sorted(self.alerts.items()) if g == group]
        return self._body(group, alerts) if alerts else None

    def _new(self, group: str, host: str, step: dict[str, Any]) -> dict[str, Any]:
        labels = {"alertname": f"Disk-{group}", "instance": host}
        if step["severity"]:
            labels["severity"] = step["severity"]
        return {
            "status": "firing", "labels": labels, "startsAt": self.now.isoformat(),
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"{group}-{host}", "generatorURL": step["url"],
            "annotations": {"summary": step["summary"]} if step["summary"] else {},
        }

    @staticmethod
    def _body(group: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
        firing = any(a["status"] == "firing" for a in alerts)
        return {
            "version": "4", "groupKey": f'{{}}:{{alertname="Disk-{group}"}}', "truncatedAlerts": 0,
            "status": "firing" if firing else "resolved", "receiver": "tocsin",
            "groupLabels": {"alertname": f"Disk-{group}"}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://am:9093", "alerts": alerts,
        }


async def _check_every_incident(conn: Any) -> None:
    for incident in await conn.fetch("SELECT * FROM incidents ORDER BY id"):
        rows = await conn.fetch("SELECT * FROM alerts WHERE incident_id = $1 ORDER BY id", incident["id"])
        facts = [AlertFacts(r["status"], r["labels"], r["annotations"], r["generator_url"]) for r in rows]
        expected = derive_fields(facts, incident["group_labels"], incident["external_url"])
        stored = (incident["title"], incident["severity"], incident["labels"], incident["summary"],
                  incident["links"], incident["alert_count"], incident["firing_alert_count"])
        assert stored == (expected.title, expected.severity, expected.labels, expected.summary, expected.links,
                          expected.alert_count, expected.firing_count), f"incident {incident['id']}"
        views = [AlertView.of(r["id"], r["status"], r["labels"], r["annotations"], r["generator_url"]) for r in rows]
        assert incident["derived"] == full(views).to_json()
        if incident["auto_resolve"] and expected.firing_count == 0:
            assert incident["status"] == "resolved"


async def _run(url: str, steps: list[dict[str, Any]]) -> None:
    db = await create_database(url, DatabaseSettings(url=url, max_open_conns=2))
    sender = Sender()
    try:
        for step in steps:
            body = sender.step(step)
            if body is None:
                continue
            await ingest_batch(db, parse_webhook(body), ROUTES, lambda: sender.now)
            if step["op"] == "repeat":  # Alertmanager's retry, or its high-availability peer: the same body again
                await ingest_batch(db, parse_webhook(body), ROUTES, lambda: sender.now)
            async with db.connection() as conn:
                await _check_every_incident(conn)
    finally:
        await db.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=12))
def test_incremental_fields_equal_a_full_recomputation(postgres: TestPostgres, steps: list[dict[str, Any]]) -> None:
    url = asyncio.run(postgres.fresh_database())
    try:
        asyncio.run(_run(url, steps))
    finally:
        asyncio.run(postgres.drop(url))
