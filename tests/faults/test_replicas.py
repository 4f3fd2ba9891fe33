"""Three replicas on one database behind a load balancer, two real Alertmanagers sending the same alerts:
one incident per group, one alert per fingerprint, each message sent once, each escalation step fired once,
the handoff announced once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import Stack, assert_each_message_sent_once, write_config
from tests.support.alertmanager import rfc3339
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
GROUPS, PER_GROUP = 5, 3


def handoff_config(path: Path) -> str:
    """A daily rotation whose handoff was a minute ago (so it is announced now), and a two-step policy."""
    handoff = datetime.now(UTC) - timedelta(minutes=1)
    return write_config(path, {
        "users": [
            {"id": "alice", "name": "Alice Example"},
            {"id": "bob", "name": "Bob Example"},
            {"id": "carol", "name": "Carol", "email": "carol@example.com", "slack_id": "U01CAROL",
             "telegram_id": 222222},
        ],
        "schedules": [{
            "id": "primary", "timezone": "UTC",
            "layers": [{"participants": ["alice", "bob"], "rotation": "daily", "handoff": handoff.strftime("%H:%M"),
                        "start": handoff.date().isoformat()}],
            "announce": {"slack_channel": "C0ANNOUNCE", "telegram_chat": "-1003"},
        }],
        "escalation_policies": [{"id": "page", "steps": [
            {"after": "0m", "notify": ["slack_channel:C0LEADS"]},
            {"after": "2s", "notify": ["user:carol"]},
        ]}],
        "routes": [{"id": "all", "escalation": "page"}],
    })


def batch(start: datetime, end: datetime | None = None) -> list[dict[str, Any]]:
    """GROUPS groups (by alertname) of PER_GROUP alerts each; resolved when `end` is given."""
    alerts = []
    for g in range(GROUPS):
        for i in range(PER_GROUP):
            labels = {"alertname": f"FaultGroup{g}", "instance": f"web-{i}", "severity": "critical"}
            alert = {"labels": labels, "annotations": {"summary": f"group {g} is slow"}, "startsAt": rfc3339(start)}
            if end is not None:
                alert["endsAt"] = rfc3339(end)
            alerts.append(alert)
    return alerts


def test_three_replicas_and_an_alertmanager_pair_store_and_send_everything_once(
    make_stack: Any, database_url: str, tmp_path: Path
) -> None:
    stack: Stack = make_stack(database_url, replicas=3, TOCSIN_CONFIG=handoff_config(tmp_path / "tocsin.yml"))
    db = stack.db
    pair = [stack.alertmanager("am-a"), stack.alertmanager("am-b")]
    start = datetime.now(UTC) - timedelta(seconds=5)
    for am in pair:
        am.post_alerts(batch(start))

    def all_fired() -> bool:
        counts = db.rows("SELECT count(*) AS n, coalesce(sum(alert_count), 0) AS alerts FROM incidents")[0]
        steps = db.value("SELECT count(*) FROM incident_events WHERE kind = 'escalated'")
        return counts["n"] == GROUPS and counts["alerts"] == GROUPS * PER_GROUP and steps == 2 * GROUPS

    wait_for(all_fired, 60, "every group stored and both escalation steps fired", stack.logs)
    for am in pair:
        am.post_alerts(batch(start, datetime.now(UTC)))
    wait_for(lambda: db.value("SELECT count(*) FROM incidents WHERE status = 'resolved'") == GROUPS, 60,
             "every incident resolved", stack.logs)
    wait_for(db.settled, 60, "every message sent", stack.logs)
    wait_for(lambda: stack.world.slack.messages and len(stack.slack_top_level()) == len(stack.refs("slack")), 10,
             "the stand-in to hold every message")

    assert db.value("SELECT count(DISTINCT group_key) FROM incidents") == GROUPS
    assert db.value("SELECT count(*) FROM alerts") == db.value("SELECT count(DISTINCT fingerprint) FROM alerts")
    assert db.value("SELECT count(*) FROM alerts") == GROUPS * PER_GROUP
    kinds = Counter(r["kind"] for r in db.rows("SELECT kind FROM incident_events"))
    assert kinds["opened"] == GROUPS and kinds["resolved"] == GROUPS
    assert kinds["alert_firing"] == kinds["alert_resolved"] == GROUPS * PER_GROUP
    steps = db.rows("SELECT incident_id, data->>'step' AS step, count(*) AS n FROM incident_events "
                    "WHERE kind = 'escalated' GROUP BY 1, 2")
    assert len(steps) == 2 * GROUPS and {r["n"] for r in steps} == {1}

    assert_each_message_sent_once(stack)
    opens = Counter(r["target"] for r in db.rows("SELECT target FROM deliveries WHERE kind = 'open'"))
    assert opens == {target: GROUPS for target in ("C0OPS", "C0LEADS", "U01CAROL", "-1001", "222222",
                                                 "ops@example.com", "carol@example.com")}
    announced_once = lambda: db.value("SELECT count(*) FROM handoff_announcements") > 0  # noqa: E731
    wait_for(announced_once, 10, "the handoff announced", stack.logs)
    wait_for(db.settled, 30, "the announcement sent", stack.logs)
    [announcement] = db.rows("SELECT message FROM handoff_announcements")
    announced = [m for m in stack.world.slack.messages.values() if m["channel"] == "C0ANNOUNCE"]
    assert [m["text"] for m in announced] == [announcement["message"]]
    sent_to_chat = [m for (chat, _), m in stack.world.telegram.messages.items() if chat == -1003]
    assert [m["text"] for m in sent_to_chat] == [announcement["message"]]
    incident_messages = [m for (ch, _), m in stack.world.slack.messages.items() if ch == "C0OPS" and m.get("blocks")]
    assert len(incident_messages) == GROUPS
    assert all(m["text"].startswith("[RESOLVED]") for m in incident_messages)  # each edited to its final state
    assert len(stack.balancer.answered) == 3, stack.balancer.answered  # the webhooks were spread
