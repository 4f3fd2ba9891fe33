"""The worked example of docs/configuration.md, read by the real config loader, does what the page says."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from store.config import load_config
from store.domain.escalation import step_due_at
from store.domain.oncall import on_call_at
from store.domain.routing import Route
from tests.docs.markdown import ROOT, blocks

BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT = Route(id="default", slack_channel="C0DEFAULT")


def _example(tmp_path: Path) -> Path:
    [block] = [b for b in blocks(ROOT / "docs" / "configuration.md") if b.kind == "file" and b.value == "tocsin.yml"]
    path = tmp_path / "tocsin.yml"
    path.write_text(block.body)
    return path


def test_the_worked_example_loads_and_means_what_the_page_says(tmp_path: Path) -> None:
    config = load_config(_example(tmp_path), DEFAULT)
    assert [u.id for u in config.users] == ["alice", "bob", "carol"]
    primary = config.schedule("primary")
    assert primary is not None
    # Weekly turns from Monday 2026-01-05 09:00 Berlin time: alice, bob, alice, ...
    assert on_call_at(primary, datetime(2026, 1, 5, 9, 30, tzinfo=BERLIN)).user == "alice"
    assert on_call_at(primary, datetime(2026, 1, 12, 8, 59, tzinfo=BERLIN)).user == "alice"
    assert on_call_at(primary, datetime(2026, 1, 12, 9, 0, tzinfo=BERLIN)).user == "bob"
    # Carol covers Christmas whoever's week it is, and hands back on the 27th at 09:00.
    assert on_call_at(primary, datetime(2026, 12, 25, 12, 0, tzinfo=BERLIN)).user == "carol"
    assert on_call_at(primary, datetime(2026, 12, 27, 9, 0, tzinfo=BERLIN)).user != "carol"
    assert primary.announce.slack_channel == "C0OPS"

    policy = config.policy("critical")
    assert policy is not None and policy.repeat == 1
    assert [s.after for s in policy.steps] == [timedelta(0), timedelta(minutes=15)]
    assert [(t.kind, t.id) for t in policy.steps[1].notify] == [("user", "carol"), ("slack_channel", "C0LEADS")]
    start = datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN)
    assert [step_due_at(policy, start, i) - start for i in range(4)] == [timedelta(minutes=m) for m in (0, 15, 30, 45)]

    routes = config.routes
    db = routes.route_for({"team": "db", "severity": "critical"})
    assert db.id == "database" and db.telegram_chats == ("-1001234567890:42",) and db.email == ("dba@example.com",)
    critical = routes.route_for({"severity": "critical", "alertname": "HighLatency"})
    assert critical.id == "critical" and critical.escalation == "critical"
    assert critical.group_by == ("alertname", "cluster")
    rest = routes.route_for({"severity": "warning"})
    assert rest.id == "everything-else" and rest.reopen_within == timedelta(minutes=10) and rest.escalation is None
    assert (policy.ack_timeout, policy.remind_every) == (timedelta(hours=1), timedelta(minutes=20))
    assert (critical.reopen_within, critical.flap_threshold, critical.flap_window) == (
        timedelta(minutes=10), 4, timedelta(minutes=30))

    [heartbeat] = config.heartbeats
    assert heartbeat.id == "alertmanager" and heartbeat.timeout == timedelta(minutes=5)
    assert routes.route_for(dict(heartbeat.labels)).id == "critical"
    [window] = config.maintenance
    friday = datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN)  # winter time; a week later, summer time
    assert window.next_period(friday) == (datetime(2026, 3, 28, 2, 0, tzinfo=BERLIN),
                                          datetime(2026, 3, 28, 4, 0, tzinfo=BERLIN))
    assert window.current(datetime(2026, 3, 28, 3, 0, tzinfo=BERLIN)) is not None
    assert window.next_period(friday + timedelta(days=7)) == (datetime(2026, 4, 4, 2, 0, tzinfo=BERLIN),
                                                              datetime(2026, 4, 4, 4, 0, tzinfo=BERLIN))
