"""End to end: the real Alertmanager's always-firing Watchdog is routed to a heartbeat of a real `tocsin serve`;
when Alertmanager stops, the missing-heartbeat incident opens and reaches the Slack stand-in; when it is back,
the incident resolves itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_alertmanager_flow import Db
from tests.support import alertmanager
from tests.support.alertmanager import Alertmanager, rfc3339
from tests.support.chat_stack import SLACK_TOKEN, BackgroundLoop
from tests.support.server import TocsinProcess
from tests.support.slack_api import SlackApi
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
TOKEN = "e2e-webhook-token"
CHANNEL = "C0HEARTBEAT"
CONFIG = {
    "heartbeats": [{"id": "alertmanager", "timeout": "5s", "labels": {"severity": "critical", "team": "ops"}}],
    "routes": [{"id": "heartbeats", "match": ['alertname="HeartbeatMissing"'], "slack_channel": CHANNEL}],
}


class WatchdogAlertmanager(Alertmanager):
    """Alertmanager whose Watchdog alert goes, every second, to the heartbeat's URL; other alerts to the webhook."""

    def __init__(self, workdir: Path, tocsin_url: str) -> None:
        super().__init__(workdir, f"{tocsin_url}/api/v1/webhooks/alertmanager", TOKEN)
        self.heartbeat_url = f"{tocsin_url}/api/v1/heartbeats/alertmanager"

    def _config(self) -> dict[str, Any]:
        config = super()._config()
        auth = {"authorization": {"type": "Bearer", "credentials": TOKEN}}
        config["route"]["routes"] = [{"receiver": "heartbeat", "matchers": ['alertname="Watchdog"'],
                                      "group_wait": "0s", "group_interval": "1s", "repeat_interval": "1s"}]
        config["receivers"].append({"name": "heartbeat", "webhook_configs": [
            {"url": self.heartbeat_url, "send_resolved": False, "http_config": auth}]})
        return config

    def watchdog(self) -> None:
        """The always-firing alert, as Prometheus' Watchdog rule keeps it firing (for an hour here)."""
        now = datetime.now(UTC)
        self.amtool("alert", "add", "alertname=Watchdog", f"--start={rfc3339(now - timedelta(seconds=1))}",
                    f"--end={rfc3339(now + timedelta(hours=1))}")


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[tuple[TocsinProcess, WatchdogAlertmanager, SlackApi, Db]]:
    if not alertmanager.available():
        pytest.fail("needs the real Alertmanager: apt-get install prometheus-alertmanager (or deselect: -m 'not e2e')")
    background = BackgroundLoop()
    slack = background.run(SlackApi(token=SLACK_TOKEN).start())
    config = tmp_path / "tocsin.yml"
    config.write_text(yaml.safe_dump(CONFIG))
    tocsin = TocsinProcess({}, tmp_path / "tocsin.log")
    for name in [k for k in tocsin.env if k.startswith("TOCSIN_")]:
        del tocsin.env[name]
    tocsin.env.update(DATABASE_URL=database_url, WEBHOOK_TOKEN=TOKEN, PUBLIC_URL=tocsin.url, TOCSIN_CONFIG=str(config),
                      SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET="e2e-signing-secret", SLACK_CHANNEL="C0OPS",
                      SLACK_API_URL=slack.api_url)
    am = WatchdogAlertmanager(tmp_path / "am", tocsin.url)
    try:
        tocsin.start()
        am.start()
        yield tocsin, am, slack, Db(database_url)
    finally:
        am.stop()
        tocsin.stop()
        background.run(slack.stop())
        background.close()


def test_watchdog_keeps_the_heartbeat_up_and_a_stopped_alertmanager_pages_until_it_is_back(
    stack: tuple[TocsinProcess, WatchdogAlertmanager, SlackApi, Db],
) -> None:
    tocsin, am, slack, db = stack
    am.watchdog()

    def pings() -> list[dict]:
        return db.query("SELECT last_seen_at, down_since FROM heartbeats WHERE id = 'alertmanager' "
                        "AND last_seen_at IS NOT NULL")

    first = wait_for(pings, 30, "Alertmanager's Watchdog to ping the heartbeat")[0]["last_seen_at"]
    wait_for(lambda: pings()[0]["last_seen_at"] > first, 30, "a second ping (the repeat interval)")
    assert db.incidents() == []
    am.stop()
    opened = wait_for(db.incidents, 60, "the missing-heartbeat incident", logs=tocsin.log)
    assert len(opened) == 1 and opened[0]["status"] == "triggered"
    assert opened[0]["title"].startswith("No heartbeat from alertmanager since ")

    def posted() -> list[dict]:
        return [c.args for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]

    message = wait_for(posted, 30, "the incident's Slack message", logs=tocsin.log)[0]
    assert "No heartbeat from alertmanager" in json.dumps(message)
    am.start()
    am.watchdog()
    wait_for(lambda: db.incidents()[0]["status"] == "resolved", 60, "the incident to resolve itself", logs=tocsin.log)
    assert len(db.incidents()) == 1
    assert db.event_kinds()[0] == "opened" and "resolved" in db.event_kinds()
