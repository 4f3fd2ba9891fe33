"""Slack's and Telegram's APIs answering 500, then 429 with Retry-After, for a sustained period while incidents
are opened, acknowledged and resolved: once they recover, every message shows its final state, and the edits
came in order (never an older state after a newer one). The period is 8 s here: with DELIVERY_RETRY_BASE=200ms
and DELIVERY_RETRY_CAP=1s that is a dozen retries per message, what minutes are with the production backoff."""

from __future__ import annotations

import json
import re
import urllib.request
from collections import defaultdict
from typing import Any

import pytest

from tests.faults.conftest import SLACK_CHANNEL, TG_CHAT, WEBHOOK_TOKEN, Stack, assert_each_message_sent_once
from tests.support.server import run_cli
from tests.support.waiting import wait_for
from tests.support.webhook_load import Sender, group_body

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
ORDER = {"TRIGGERED": 0, "ACKNOWLEDGED": 1, "RESOLVED": 2}
INCIDENTS = 3


def api_post(stack: Stack, token: str, path: str, body: dict[str, Any]) -> int:
    """POST to the REST API through the load balancer."""
    request = urllib.request.Request(
        stack.balancer.url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def in_order(states: list[str]) -> bool:
    """True when no state comes after a later one."""
    ranks = [ORDER[s] for s in states]
    return ranks == sorted(ranks)


def test_chat_apis_failing_for_a_while_end_with_every_message_in_its_final_state(
    make_stack: Any, database_url: str
) -> None:
    stack: Stack = make_stack(database_url, replicas=2)
    slack, telegram = stack.world.slack, stack.world.telegram
    created = run_cli(database_url, "token", "create", "--name", "ops", "--role", "responder")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    sender = Sender(stack.webhook_url, WEBHOOK_TOKEN)
    assert sender.post_all([group_body(f"chat-{n}") for n in range(INCIDENTS)]) == [200] * INCIDENTS
    opened = "SELECT count(*) FROM deliveries WHERE kind = 'open' AND state = 'sent' AND channel <> 'email'"
    wait_for(lambda: stack.db.value(opened) == 2 * INCIDENTS, 30, "the messages posted", stack.logs)

    # 500s for 4 s, then 429 with Retry-After: 1 for 4 s more (the first live fault applies).
    for api in (slack, telegram):
        api.fail_for(4, status=500)
    slack.fail_for(8, status=429, retry_after=1)
    telegram.fail_for(8, status=429, retry_after=1)
    ids = [r["id"] for r in stack.db.rows("SELECT id FROM incidents ORDER BY id")]
    for incident_id in ids:
        assert api_post(stack, token, f"/api/v1/incidents/{incident_id}/acknowledge", {"by": "alice"}) == 200
    wait_for(lambda: any(c.method == "chat.update" and c.status in (429, 500) for c in slack.calls), 15,
             "an edit refused by Slack")
    for incident_id in ids:
        assert api_post(stack, token, f"/api/v1/incidents/{incident_id}/resolve", {"by": "bob", "note": "ok"}) == 200

    wait_for(stack.db.settled, 90, "every message sent after the APIs recovered", stack.logs)
    assert {c.status for c in slack.calls} >= {200, 429, 500}
    attempts = stack.db.value("SELECT max(attempts) FROM deliveries WHERE channel IN ('slack', 'telegram')")
    assert attempts >= 3  # each message went through several failed attempts

    posts = [m for (ch, _), m in slack.messages.items() if ch == SLACK_CHANNEL and not m.get("thread_ts")]
    assert len(posts) == INCIDENTS and all(m["text"].startswith("[RESOLVED]") for m in posts)
    shown: dict[str, list[str]] = defaultdict(list)
    for call in slack.calls:
        if call.method == "chat.update":
            shown[call.args["ts"]].append(call.args["text"][1:].split("]")[0])
    assert set(shown) == {m["ts"] for m in posts}
    assert all(in_order(states) and states[-1] == "RESOLVED" for states in shown.values()), shown

    chats = {key: m for key, m in telegram.messages.items() if key[0] == TG_CHAT}
    assert len(chats) == INCIDENTS
    assert all("Status: <b>RESOLVED</b>" in m["text"] for m in chats.values())
    edits: dict[int, list[str]] = defaultdict(list)
    for call in telegram.calls_to("editMessageText"):
        edits[call.params["message_id"]].append(re.findall(r"Status: <b>(\w+)</b>", call.params["text"])[0])
    assert set(edits) == {message_id for _, message_id in chats}
    assert all(in_order(states) and states[-1] == "RESOLVED" for states in edits.values()), edits
    assert_each_message_sent_once(stack)

    text = "".join(urllib.request.urlopen(url + "/metrics", timeout=5).read().decode() for url in stack.cluster.urls)
    retries = re.findall(r'tocsin_delivery_attempts_total\{channel="slack",outcome="retry"\} ([0-9.]+)', text)
    assert sum(float(n) for n in retries) >= 1
