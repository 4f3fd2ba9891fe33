"""End to end through a real `tocsin serve`: Grafana's webhook and PagerDuty-style events come in over HTTP; the
incidents go out to a signed webhook receiver, PagerDuty's Events API and Jira's REST API (loopback stand-ins that
answer 429 and 500 first), and Slack shows the Jira issue's key and link. And a real tool set up for PagerDuty
(Alertmanager's own pagerduty receiver) pages Tocsin once its URL is changed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_grafana_sample
from tests.support import alertmanager
from tests.support.alertmanager import Alertmanager
from tests.support.chat_stack import SLACK_TOKEN, ChatWorld
from tests.support.jira_api import JiraApi
from tests.support.pagerduty_api import PagerDutyApi
from tests.support.server import TocsinProcess
from tests.support.waiting import wait_for
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e
WEBHOOK_TOKEN = "e2e-integrations-webhook-token"
SECRET = "e2e-outgoing-webhook-secret-0123"
SENTRY_KEY = "0123456789abcdef0123456789abcdef"
PD_KEY = "fedcba9876543210fedcba9876543210"
SLACK_CHANNEL = "C0E2EINT"
CONFIG = """
integrations:
  - {{id: sentry, kind: pagerduty_events, routing_key: {sentry}, labels: {{team: web}}}}
webhooks:
  - {{id: audit, url: "{receiver}", secret: {secret}}}
routes:
  - id: infra
    match: ['grafana_folder="Infra"']
    pagerduty: {{routing_key: {pd}}}
    jira: {{project: OPS, issue_type: Incident, fields: {{priority: '{{"name": "High"}}'}}}}
  - {{id: web, match: ['team="web"']}}
"""


@dataclass
class Stack:
    tocsin: TocsinProcess
    world: ChatWorld
    receiver: WebhookReceiver
    pagerduty: PagerDutyApi
    jira: JiraApi

    def post(self, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        request = urllib.request.Request(self.tocsin.url + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def grafana(self, sample: str) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {WEBHOOK_TOKEN}"}
        return self.post("/api/v1/webhooks/grafana", load_grafana_sample(sample), headers)

    def enqueue(self, action: str, dedup_key: str) -> tuple[int, Any]:
        body: dict[str, Any] = {"routing_key": SENTRY_KEY, "event_action": action, "dedup_key": dedup_key}
        if action == "trigger":
            body["payload"] = {"summary": "Checkout answers 500", "source": "web-1", "severity": "error"}
        return self.post("/v2/enqueue", body, {"Content-Type": "application/json"})

    def incident(self, incident_id: int) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.tocsin.url}/api/v1/incidents/{incident_id}", timeout=10) as response:
            return json.loads(response.read())

    def received(self, kind: str, incident_id: int) -> list[dict[str, Any]]:
        return [r.json for r in self.receiver.received
                if r.status == 200 and r.json["event"]["kind"] == kind and r.json["incident"]["id"] == incident_id]


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    world = ChatWorld().start()
    run = world.background.run
    receiver = run(WebhookReceiver(SECRET).start())
    pagerduty = run(PagerDutyApi(routing_keys={PD_KEY}).start())
    jira = run(JiraApi().start())
    config = tmp_path / "tocsin.yml"
    config.write_text(CONFIG.format(sentry=SENTRY_KEY, receiver=receiver.url, secret=SECRET, pd=PD_KEY))
    tocsin = TocsinProcess({}, tmp_path / "tocsin.log")
    tocsin.env.update(
        DATABASE_URL=database_url, WEBHOOK_TOKEN=WEBHOOK_TOKEN, PUBLIC_URL=tocsin.url, ANONYMOUS_READ="true",
        TOCSIN_CONFIG=str(config), PAGERDUTY_EVENTS_URL=pagerduty.events_url, **jira.env(),
        SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET="e2e-signing-secret", SLACK_CHANNEL=SLACK_CHANNEL,
        SLACK_API_URL=world.slack.api_url, DELIVERY_RETRY_BASE="200ms", DELIVERY_RETRY_CAP="1s",
    )
    try:
        tocsin.start()
        yield Stack(tocsin, world, receiver, pagerduty, jira)
    finally:
        tocsin.stop()
        for server in (receiver, pagerduty, jira):
            run(server.stop())
        world.stop()


def test_grafana_and_pagerduty_events_in_webhooks_pagerduty_and_jira_out(stack: Stack) -> None:
    stack.receiver.fail_next(1, 429, retry_after=1)
    stack.receiver.fail_next(1, 500)
    stack.pagerduty.fail_next(1, 500)
    stack.jira.fail_next(1, 429, retry_after=1)

    status, answer = stack.grafana("01_firing_2alerts.json")
    assert status == 200, answer
    (incident_id,) = answer["incidents"]
    wait_for(lambda: stack.received("opened", incident_id), what="the signed webhook of the opened incident",
             logs=stack.tocsin.log)
    wait_for(lambda: stack.pagerduty.accepted("trigger"), what="PagerDuty's trigger", logs=stack.tocsin.log)
    key = wait_for(lambda: next(iter(stack.jira.issues), None), what="the Jira issue", logs=stack.tocsin.log)
    assert stack.jira.issues[key]["fields"]["priority"] == {"name": "High"}
    jira_url = f"{stack.jira.url}/browse/{key}"
    # Slack's message is edited to show the issue once Tocsin has recorded it.
    wait_for(lambda: [c for c in stack.world.slack.calls_to("chat.update") if jira_url in json.dumps(c.args)],
             what="Slack's message showing the Jira issue", logs=stack.tocsin.log)

    # PagerDuty-style events from another tool: their own incident, acknowledged by the tool, webhook told.
    status, answer = stack.enqueue("trigger", "checkout-500s")
    assert (status, answer["dedup_key"]) == (202, "checkout-500s")
    assert stack.enqueue("acknowledge", "checkout-500s")[0] == 202
    acked = wait_for(lambda: [r for r in stack.receiver.received if r.status == 200
                              and r.json["event"]["kind"] == "acknowledged"], what="the acknowledged webhook")
    assert acked[0].json["incident"]["acknowledged_by"] == "sentry" and acked[0].json["incident"]["route"] == "web"

    assert stack.grafana("03_resolved_2alerts.json")[0] == 200
    wait_for(lambda: stack.received("resolved", incident_id), what="the resolved webhook", logs=stack.tocsin.log)
    wait_for(lambda: stack.pagerduty.accepted("resolve"), what="PagerDuty's resolve", logs=stack.tocsin.log)
    wait_for(lambda: stack.jira.issues[key]["status"] == "Done", what="the Jira issue done", logs=stack.tocsin.log)

    assert stack.receiver.refused == []  # every request carried a valid signature
    assert [r.status for r in stack.receiver.received[:2]] == [429, 500]
    assert stack.pagerduty.alerts == {(PD_KEY, f"tocsin-{incident_id}"): "resolved"}
    detail = stack.incident(incident_id)
    assert detail["tickets"] == [{"system": "jira", "key": key, "url": jira_url}]
    assert detail["source"] == "grafana" and detail["links"]["dashboard"].startswith("https://grafana.example.com")
    deliveries = detail["deliveries"]
    wait_for(lambda: stack.incident(incident_id)["deliveries"]["jira"]["state"] == "sent", what="Jira settled")
    assert deliveries["webhook:audit"]["targets"][0]["reference"] == "HTTP 200"
    assert deliveries["pagerduty"]["targets"][0]["target"] == "infra"
    assert "Traceback" not in stack.tocsin.log()


def test_alertmanagers_own_pagerduty_receiver_pages_tocsin_by_changing_its_url(database_url: str,
                                                                                 tmp_path: Path) -> None:
    """A real tool set up for PagerDuty: Alertmanager's pagerduty_configs, its url pointed at Tocsin."""
    if not alertmanager.available():
        pytest.fail("needs the real Alertmanager: apt-get install prometheus-alertmanager (or deselect: -m 'not e2e')")
    config = tmp_path / "tocsin.yml"
    config.write_text(f"integrations:\n  - {{id: am-pd, kind: pagerduty_events, routing_key: {SENTRY_KEY}}}\n")
    tocsin = TocsinProcess({}, tmp_path / "tocsin.log")
    tocsin.env.update(DATABASE_URL=database_url, TOCSIN_CONFIG=str(config), ANONYMOUS_READ="true")
    receiver = {"pagerduty_configs": [{"url": f"{tocsin.url}/v2/enqueue", "routing_key": SENTRY_KEY,
                                       "send_resolved": True}]}
    am = Alertmanager(tmp_path / "am", "", None, receiver=receiver)
    try:
        tocsin.start()
        am.start()
        labels = {"alertname": "E2EPagerDutyReceiver", "instance": "db-1", "severity": "critical"}
        start = datetime.now(UTC) - timedelta(seconds=5)
        am.fire(labels, start, {"summary": "replication lag"})
        incident = wait_for(lambda: _first_incident(tocsin), what="an incident from Alertmanager's PagerDuty "
                            "receiver", logs=lambda: tocsin.log() + am.log())
        assert incident["source"] == "pagerduty" and incident["status"] == "triggered"
        assert incident["labels"]["alertname"] == "am-pd"
        am.resolve(labels, start)
        wait_for(lambda: _first_incident(tocsin)["status"] == "resolved", what="the incident resolved by its resolve "
                 "event", logs=lambda: tocsin.log() + am.log())
        assert _first_incident(tocsin)["resolved_by"] == "am-pd"
    finally:
        am.stop()
        tocsin.stop()


def _first_incident(tocsin: TocsinProcess) -> dict[str, Any] | None:
    with urllib.request.urlopen(f"{tocsin.url}/api/v1/incidents", timeout=10) as response:
        items = json.loads(response.read())["items"]
    return items[0] if items else None
