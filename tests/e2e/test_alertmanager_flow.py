"""End to end: the real Alertmanager, fired with amtool, posting to a real `tocsin serve` process."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.support import alertmanager
from tests.support.alertmanager import Alertmanager
from tests.support.server import TocsinProcess
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
TOKEN = "e2e-webhook-token"


class Db:
    """Synchronous peeks at the test database."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, sql: str) -> list[dict]:
        import asyncio

        async def run() -> list[dict]:
            conn = await asyncpg.connect(self.url)
            try:
                return [dict(r) for r in await conn.fetch(sql)]
            finally:
                await conn.close()

        return asyncio.run(run())

    def incidents(self) -> list[dict]:
        return self.query("SELECT id, status, alert_count, firing_alert_count, title FROM incidents ORDER BY id")

    def alert_rows(self) -> list[dict]:
        return self.query("SELECT fingerprint, starts_at, status, receive_count FROM alerts_seen ORDER BY fingerprint")

    def event_kinds(self) -> list[str]:
        return [r["kind"] for r in self.query("SELECT kind FROM incident_events ORDER BY id")]


@pytest.fixture
def stack_binaries() -> None:
    if not alertmanager.available():
        pytest.fail("needs the real Alertmanager: apt-get install prometheus-alertmanager (or deselect: -m 'not e2e')")


@pytest.fixture
def stack(stack_binaries: None, database_url: str, tmp_path: Path) -> Iterator[tuple[TocsinProcess, Alertmanager, Db]]:
    tocsin = TocsinProcess({"DATABASE_URL": database_url, "WEBHOOK_TOKEN": TOKEN}, tmp_path / "tocsin.log")
    am = Alertmanager(tmp_path / "am", f"{tocsin.url}/api/v1/webhooks/alertmanager", TOKEN)
    tocsin.start()
    am.start()
    try:
        yield tocsin, am, Db(database_url)
    finally:
        am.stop()
        tocsin.stop()


LABELS_1 = {"alertname": "E2EHighLatency", "service": "checkout", "instance": "web-1", "severity": "critical"}
LABELS_2 = {"alertname": "E2EHighLatency", "service": "checkout", "instance": "web-2", "severity": "warning"}


def test_two_alerts_one_incident_resolve_one_then_both(stack: tuple[TocsinProcess, Alertmanager, Db]) -> None:
    tocsin, am, db = stack
    start = datetime.now(UTC) - timedelta(seconds=5)
    am.fire(LABELS_1, start, {"summary": "p99 above 2s"})
    am.fire(LABELS_2, start, {"summary": "p99 above 1s"})
    wait_for(lambda: db.incidents() and db.incidents()[0]["alert_count"] == 2, what="one incident with two alerts")
    (incident,) = db.incidents()
    assert incident["status"] == "triggered" and incident["firing_alert_count"] == 2

    am.resolve(LABELS_1, start)
    wait_for(lambda: db.incidents()[0]["firing_alert_count"] == 1, what="one alert resolved")
    assert db.incidents()[0]["status"] == "triggered"

    am.resolve(LABELS_2, start)
    wait_for(lambda: db.incidents()[0]["status"] == "resolved", what="incident resolved")
    assert len(db.incidents()) == 1
    assert len(db.alert_rows()) == 2
    kinds = db.event_kinds()
    assert kinds.count("opened") == 1 and kinds.count("resolved") == 1
    assert kinds.count("alert_firing") == 2 and kinds.count("alert_resolved") == 2


def test_alertmanager_retries_while_tocsin_is_down_and_nothing_is_lost_or_doubled(
    stack: tuple[TocsinProcess, Alertmanager, Db],
) -> None:
    tocsin, am, db = stack
    start = datetime.now(UTC) - timedelta(seconds=5)
    am.fire(LABELS_1, start)
    wait_for(lambda: db.incidents(), what="first incident")

    assert tocsin.stop() == 0
    am.fire(LABELS_2, start)
    am.resolve(LABELS_1, start)
    time.sleep(3)  # Alertmanager tries, fails, and keeps the notification to retry
    assert "connection refused" in am.log()  # it did try while Tocsin was down
    tocsin.start()

    wait_for(
        lambda: db.incidents()[0]["firing_alert_count"] == 1 and db.incidents()[0]["alert_count"] == 2,
        what="both changes delivered after Tocsin came back",
    )
    time.sleep(3)  # further retries and group_interval flushes of the same state
    assert len(db.incidents()) == 1
    rows = db.alert_rows()
    assert len(rows) == 2
    assert {r["status"] for r in rows} == {"firing", "resolved"}
    kinds = db.event_kinds()
    assert kinds.count("opened") == 1 and kinds.count("alert_firing") == 2 and kinds.count("alert_resolved") == 1


def test_send_test_alert_command_reaches_a_running_server(stack: tuple[TocsinProcess, Alertmanager, Db]) -> None:
    import subprocess
    import sys

    from tests.support.server import ROOT

    tocsin, _, db = stack
    env = {**tocsin.env, "WEBHOOK_TOKEN": TOKEN}
    cmd = [sys.executable, "-m", "web.cli", "send-test-alert", "--url", tocsin.url]
    fired = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert fired.returncode == 0, fired.stderr
    assert fired.stdout.startswith("200 ")
    ids = json.loads(fired.stdout[4:])["incidents"]
    resolved = subprocess.run([*cmd, "--resolve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert resolved.returncode == 0
    assert json.loads(resolved.stdout[4:])["incidents"] == ids
    assert db.incidents()[-1]["status"] == "resolved"
    with urllib.request.urlopen(tocsin.url + "/healthz", timeout=5) as response:
        assert response.status == 200
