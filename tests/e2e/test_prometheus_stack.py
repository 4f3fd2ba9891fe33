"""The whole chain on loopback: a Prometheus rule fires, Alertmanager posts, `tocsin serve` opens and resolves."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.support import alertmanager, prometheus
from tests.support.alertmanager import Alertmanager
from tests.support.prometheus import Prometheus
from tests.support.server import TocsinProcess
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
TOKEN = "prometheus-stack-token"
SUMMARY = "The demo rule fires as soon as Prometheus evaluates it"


def rule_group(expr: str) -> list[dict[str, Any]]:
    """One rule group holding the demo alert with the given expression."""
    rule = {
        "alert": "StackDemoAlwaysFiring",
        "expr": expr,
        "labels": {"severity": "critical", "team": "ops"},
        "annotations": {"summary": SUMMARY, "runbook_url": "https://runbooks.example/demo"},
    }
    return [{"name": "demo", "interval": "1s", "rules": [rule]}]


def query(url: str, sql: str) -> list[dict[str, Any]]:
    """Rows of one query against the test database."""

    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            return [dict(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
def chain(database_url: str, tmp_path: Path) -> Iterator[tuple[Prometheus, Callable[[], str]]]:
    if not prometheus.available() or not alertmanager.available():
        pytest.fail("needs Debian's prometheus and prometheus-alertmanager (or deselect: -m 'not e2e')")
    tocsin = TocsinProcess({"DATABASE_URL": database_url, "WEBHOOK_TOKEN": TOKEN}, tmp_path / "tocsin.log")
    am = Alertmanager(tmp_path / "am", f"{tocsin.url}/api/v1/webhooks/alertmanager", TOKEN)
    prom = Prometheus(tmp_path / "prom", am.url)
    prom.write_rules(rule_group("vector(1)"))
    started: list[Any] = []
    try:
        for part in (tocsin, am, prom):
            part.start()
            started.append(part)

        def logs() -> str:
            return "\n".join(
                f"--- {name} ---\n{text[-3000:]}"
                for name, text in (("prometheus", prom.log()), ("alertmanager", am.log()), ("tocsin", tocsin.log()))
            )

        yield prom, logs
    finally:
        for part in reversed(started):
            part.stop()


def test_a_firing_rule_opens_an_incident_and_its_end_resolves_it(
    chain: tuple[Prometheus, Callable[[], str]], database_url: str
) -> None:
    prom, logs = chain

    def incidents() -> list[dict[str, Any]]:
        return query(database_url, "SELECT id, status, title, severity, labels FROM incidents ORDER BY id")

    wait_for(incidents, 60, "the incident opened by the firing rule", logs)
    (incident,) = incidents()
    assert incident["status"] == "triggered"
    assert incident["title"] == SUMMARY
    assert incident["severity"] == "critical"
    (alert,) = query(database_url, "SELECT status, labels, generator_url FROM alerts")
    assert alert["status"] == "firing"
    assert json.loads(alert["labels"])["alertname"] == "StackDemoAlwaysFiring"
    assert alert["generator_url"].startswith(prom.url + "/graph")
    assert [a["state"] for a in prom.alerts()] == ["firing"]

    prom.write_rules(rule_group("vector(1) == 0"))  # same rule, now never true
    prom.reload()
    wait_for(lambda: incidents()[0]["status"] == "resolved", 60, "the incident resolved after the rule ended", logs)

    time.sleep(2)  # Prometheus keeps resending the resolved alert; nothing new may come of it
    assert [i["status"] for i in incidents()] == ["resolved"]
    kinds = [r["kind"] for r in query(database_url, "SELECT kind FROM incident_events ORDER BY id")]
    assert kinds.count("opened") == 1 and kinds.count("resolved") == 1
    assert prom.alerts() == []
