"""End to end: the real Alertmanager fires into a real `tocsin serve` whose policy pages alice by her rules (push
at 0, SMS 30 seconds later: time compressed by a short delay); the push reaches the ntfy stand-in, its
Acknowledge button is pressed as ntfy's app does, and no SMS is ever sent for that incident. A second incident,
left alone, gets its SMS: proof that the SMS rule was running and would have fired."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import alertmanager, ntfy_api, twilio_api
from tests.support.alertmanager import Alertmanager
from tests.support.chat_stack import BackgroundLoop, wait_for
from tests.support.ntfy_api import NtfyApi
from tests.support.paging import ALICE_PHONE, ALICE_TOPIC, LINK_KEY
from tests.support.server import TocsinProcess
from tests.support.twilio_api import TwilioApi

pytestmark = pytest.mark.e2e
WEBHOOK_TOKEN = "e2e-paging-webhook-token"
CONFIG = {
    "users": [{"id": "alice", "name": "Alice Example", "phone": ALICE_PHONE, "ntfy_topic": ALICE_TOPIC,
               "notification_rules": [{"method": "push", "after": "0m"}, {"method": "sms", "after": "30s"}]}],
    "escalation_policies": [{"id": "page-alice", "steps": [{"after": "0m", "notify": ["user:alice"]}]}],
    "routes": [{"id": "everything", "escalation": "page-alice"}],
}


class Stack:
    """Tocsin, Alertmanager, and the ntfy and Twilio stand-ins on a background loop."""

    def __init__(self, tocsin: TocsinProcess, am: Alertmanager, loop: BackgroundLoop, ntfy: NtfyApi,
                 twilio: TwilioApi) -> None:
        self.tocsin, self.am, self.loop, self.ntfy, self.twilio = tocsin, am, loop, ntfy, twilio

    def push_about(self, summary: str) -> dict[str, Any]:
        return wait_for(lambda: next((m for m in self.ntfy.to(ALICE_TOPIC) if summary in m["message"]), None),
                        what=f"the push about {summary}")

    def incident(self, incident_id: int) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.tocsin.url}/api/v1/incidents/{incident_id}", timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    if not alertmanager.available():
        pytest.fail("needs the real Alertmanager: apt-get install prometheus-alertmanager (or deselect: -m 'not e2e')")
    loop, ntfy, twilio = BackgroundLoop(), NtfyApi(), TwilioApi()
    for standin in (ntfy, twilio):
        loop.run(standin.start())
    config = tmp_path / "tocsin.yml"
    config.write_text(yaml.safe_dump(CONFIG))
    tocsin = TocsinProcess({}, tmp_path / "tocsin.log")
    am = Alertmanager(tmp_path / "am", f"{tocsin.url}/api/v1/webhooks/alertmanager", WEBHOOK_TOKEN)
    tocsin.env.update(
        DATABASE_URL=database_url, WEBHOOK_TOKEN=WEBHOOK_TOKEN, PUBLIC_URL=tocsin.url, TOCSIN_CONFIG=str(config),
        ANONYMOUS_READ="true", ACTION_LINK_KEY=LINK_KEY, NTFY_URL=ntfy.url, NTFY_TOKEN=ntfy_api.TOKEN,
        TWILIO_ACCOUNT_SID=twilio_api.ACCOUNT_SID, TWILIO_AUTH_TOKEN=twilio_api.AUTH_TOKEN,
        TWILIO_FROM=twilio_api.FROM, TWILIO_API_URL=twilio.url,
    )
    for name in [k for k in tocsin.env if k.startswith(("SLACK_", "TELEGRAM_", "EMAIL_", "DISCORD_", "MATTERMOST_"))]:
        del tocsin.env[name]
    try:
        tocsin.start()
        am.start()
        yield Stack(tocsin, am, loop, ntfy, twilio)
    finally:
        am.stop()
        tocsin.stop()
        for standin in (ntfy, twilio):
            loop.run(standin.stop())
        loop.close()


def fire(am: Alertmanager, alertname: str) -> str:
    summary = f"{alertname} on db-1"
    labels = {"alertname": alertname, "instance": "db-1", "severity": "critical"}
    am.fire(labels, datetime.now(UTC) - timedelta(seconds=5), {"summary": summary})
    return summary


def test_the_push_acknowledge_button_stops_the_sms_that_would_follow(stack: Stack) -> None:
    push = stack.push_about(fire(stack.am, "E2EPagedDisk"))
    incident_id = int(push["title"].split()[0].removeprefix("#"))
    assert push["priority"] == 5 and [a["label"] for a in push["actions"]] == ["Acknowledge", "Resolve"]
    status, page = stack.loop.run(stack.ntfy.press(push, "Acknowledge"))
    assert status == 200 and f"Acknowledged #{incident_id}" in page, page
    acked = stack.incident(incident_id)
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "alice"
    assert any(e["kind"] == "acknowledged" and e["source"] == "ntfy" for e in acked["timeline"])

    other = stack.push_about(fire(stack.am, "E2EPagedQueue"))
    other_id = int(other["title"].split()[0].removeprefix("#"))
    texts = wait_for(lambda: stack.twilio.texts_to(ALICE_PHONE), timeout=120, what="the second incident's SMS")
    assert [t["Body"].split()[1] for t in texts] == [f"#{other_id}"]  # none for the acknowledged incident
    assert stack.incident(other_id)["status"] == "triggered"
