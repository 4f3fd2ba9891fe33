"""Block Kit of an incident, thread lines and command replies (pure)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.slack import render
from store.domain.incident import Status
from tests.support.incident_values import T0, make_event, make_incident

PUBLIC = "https://tocsin.example.com"


def blocks_of(**overrides: Any) -> list[dict[str, Any]]:
    silence = overrides.pop("silence_enabled", False)
    until = overrides.pop("silenced_until", None)
    return render.incident_blocks(make_incident(**overrides), PUBLIC, silence, until)


def actions_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_triggered_incident_shows_status_severity_alerts_and_summary_at_a_glance() -> None:
    blocks = blocks_of()
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "#42 High error rate on checkout", "emoji": True},
    }
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields[0] == "*Status*\n:rotating_light: Triggered"
    assert fields[1] == "*Severity*\n:red_circle: Critical"
    assert fields[2] == "*Alerts*\n2 firing of 3"
    assert fields[3].startswith(f"*Opened*\n<!date^{int(T0.timestamp())}^") and "2026-11-26 12:00 UTC>" in fields[3]
    assert blocks[2]["text"]["text"] == "5xx ratio above 5% for 10 minutes"


def test_buttons_carry_the_incident_id_and_silence_only_with_alertmanager() -> None:
    without = actions_of(blocks_of())
    assert [(b["action_id"], b["value"]) for b in without] == [("ack_incident", "42"), ("resolve_incident", "42")]
    assert without[0]["style"] == "primary" and without[1]["style"] == "danger"
    with_silence = actions_of(blocks_of(silence_enabled=True))
    assert [b["action_id"] for b in with_silence] == ["ack_incident", "resolve_incident", "silence_incident"]
    assert with_silence[2]["value"] == "42"


def test_acknowledged_incident_drops_the_ack_button_and_says_who() -> None:
    blocks = blocks_of(status=Status.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=T0)
    assert blocks[1]["fields"][0]["text"] == "*Status*\n:eyes: Acknowledged by alice"
    assert [b["action_id"] for b in actions_of(blocks)] == ["resolve_incident"]
    incident = make_incident(status=Status.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=T0)
    named = render.incident_blocks(incident, PUBLIC, names={"alice": "Alice <A>"})
    assert named[1]["fields"][0]["text"] == "*Status*\n:eyes: Acknowledged by Alice &lt;A&gt;"


def test_resolved_incident_has_no_buttons_and_says_who() -> None:
    blocks = blocks_of(status=Status.RESOLVED, resolved_by="bob", resolved_at=T0, firing_alert_count=0)
    assert blocks[1]["fields"][0]["text"] == "*Status*\n:white_check_mark: Resolved by bob"
    assert blocks[1]["fields"][2]["text"] == "*Alerts*\n3 (none firing)"
    assert not [b for b in blocks if b["type"] == "actions"]


def test_links_point_to_dashboard_source_runbook_and_alertmanager() -> None:
    context = [b for b in blocks_of() if b["type"] == "context"][-1]["elements"][0]["text"]
    assert context.startswith(f"<{PUBLIC}/incidents/42|Dashboard> · ")
    assert "<http://prometheus:9090/graph?g0.expr=rate%28x%5B5m%5D%29&amp;g0.tab=1|Source graph>" in context
    assert "<https://runbooks.example.com/checkout|Runbook>" in context
    assert "|Alertmanager>" in context


def test_unsafe_links_are_dropped_or_defused() -> None:
    links = {"runbook": "javascript:alert(1)", "source": "https://x.example/a|b>c"}
    context = [b for b in blocks_of(links=links) if b["type"] == "context"][-1]["elements"][0]["text"]
    assert "javascript" not in context and "Runbook" not in context
    assert "<https://x.example/a%7Cb%3Ec|Source graph>" in context


def test_label_values_and_summary_are_escaped() -> None:
    labels = {"alertname": "A&B", "instance": "<host>", "job": "<!channel>"}
    blocks = blocks_of(labels=labels, summary="use <@U123> & <!here>")
    text = all_text(blocks)
    assert "*alertname*: `A&amp;B`" in text and "`&lt;host&gt;`" in text and "`&lt;!channel&gt;`" in text
    assert blocks[2]["text"]["text"] == "use &lt;@U123&gt; &amp; &lt;!here&gt;"
    assert "<!channel>" not in text and "<!here>" not in text


def test_main_labels_come_first_and_are_limited() -> None:
    labels = {f"z{i}": "v" for i in range(20)} | {"instance": "db1", "alertname": "Down", "severity": "error"}
    shown = render.main_labels(labels)
    assert [k for k, _ in shown[:3]] == ["alertname", "severity", "instance"]
    assert len(shown) == render.MAX_LABELS


def test_long_title_and_summary_fit_slack_limits() -> None:
    blocks = blocks_of(title="t" * 400, summary="s" * 5000)
    assert len(blocks[0]["text"]["text"]) == 150 and blocks[0]["text"]["text"].endswith("…")
    assert len(blocks[2]["text"]["text"]) <= 3000


def test_silence_is_shown_until_resolved() -> None:
    until = T0 + timedelta(hours=1)
    fields = [f["text"] for f in blocks_of(silenced_until=until)[1]["fields"]]
    assert fields[-1].startswith("*Silenced until*\n:no_bell: <!date^")
    resolved = blocks_of(silenced_until=until, status=Status.RESOLVED, resolved_by="bob")
    assert "Silenced" not in all_text(resolved)


def test_manual_incident_without_alerts_or_labels() -> None:
    blocks = blocks_of(alert_count=0, firing_alert_count=0, labels={}, links={}, summary="", description="By hand")
    assert blocks[1]["fields"][2]["text"] == "*Alerts*\nnone (opened by hand)"
    assert blocks[2]["text"]["text"] == "By hand"
    assert [b["type"] for b in blocks] == ["header", "section", "section", "context", "actions"]


def test_fallback_text() -> None:
    assert render.fallback_text(make_incident()) == "[TRIGGERED] #42 critical: High error rate on checkout"


def test_thread_line_for_a_person_uses_the_display_name_and_channel() -> None:
    event = make_event("acknowledged", actor="alice", source="telegram")
    assert render.thread_line(event, {"alice": "Alice"}) == ":eyes: Acknowledged by Alice via Telegram"
    assert render.thread_line(event) == ":eyes: Acknowledged by alice via Telegram"


def test_thread_line_for_resolve_with_note_and_by_alertmanager() -> None:
    by_hand = make_event("resolved", actor="Bob <b>", source="api", data={"note": "rolled back"})
    assert render.thread_line(by_hand) == ":white_check_mark: Resolved by Bob &lt;b&gt; via the API: rolled back"
    auto = make_event("resolved", message="Resolved: every alert has resolved")
    assert render.thread_line(auto) == ":white_check_mark: Resolved: every alert has resolved"


def test_thread_line_for_other_events_uses_the_message() -> None:
    firing = make_event("alert_firing", message="Alert firing: HighErrorRate <x>")
    assert render.thread_line(firing) == ":fire: Alert firing: HighErrorRate &lt;x&gt;"
    note = make_event("note", actor="carol", source="web", message="looking at the db")
    assert render.thread_line(note) == ":memo: looking at the db (by carol via the dashboard)"
    bare = make_event("escalated", source="scheduler")
    assert render.thread_line(bare) == ":loudspeaker: Escalated"


def test_incident_list_text() -> None:
    assert render.incident_list_text([], PUBLIC) == ":relieved: No open incidents."
    two = [make_incident(), make_incident(id=7, status=Status.ACKNOWLEDGED, severity="info", title="a <b>")]
    text = render.incident_list_text(two, PUBLIC)
    assert text.splitlines()[0] == "*2 open incidents*"
    assert f"<{PUBLIC}/incidents/7|#7 a &lt;b&gt;>" in text and ":eyes:" in text and ":large_blue_circle: Info" in text


def test_help_mentions_silence_only_when_enabled() -> None:
    assert "silence" not in render.help_text("/incident", False)
    text = render.help_text("/oncall-bot", True)
    assert "`/oncall-bot silence ID [duration]`" in text and "`/oncall-bot new TITLE`" in text
