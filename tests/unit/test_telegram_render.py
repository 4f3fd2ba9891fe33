"""The incident as Telegram HTML: escaping, links, keyboard, and always within 4,096 visible characters."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram.render import MAX_TEXT, render_incident, render_incident_list, shorten, utf16_len
from store.domain.incident import Status
from store.models import Event
from tests.support.telegram_api import visible_text
from tests.support.telegram_incidents import T0, make_incident

URL = "https://tocsin.example"


def shown(html_text: str) -> str:
    """What Telegram shows; raises like Telegram's "can't parse entities" on bad HTML."""
    return visible_text(html_text, "HTML")


def buttons(rendered) -> list[tuple[str, str]]:
    if rendered.keyboard is None:
        return []
    return [(b.text, b.callback_data) for row in rendered.keyboard.inline_keyboard for b in row]


def test_status_severity_counts_summary_labels_and_links() -> None:
    rendered = render_incident(make_incident(), public_url=URL, silence_enabled=False)
    text = shown(rendered.text)
    first, second = text.splitlines()[:2]
    assert "#42 Disk almost full on db-1" in first and first.startswith("🔴")
    assert "Status: TRIGGERED" in second and "critical" in second and "Alerts: 2 firing of 2" in second
    assert "/var/lib/postgresql is 97% full" in text
    assert "instance = db-1:9100" in text
    assert f'<a href="{URL}/incidents/42">Dashboard</a>' in rendered.text
    assert '<a href="https://runbooks.example.com/disk-full">Runbook</a>' in rendered.text
    assert "g0.expr=disk_free%20%3C%203&amp;g0.tab=1" in rendered.text  # & in an href is escaped too
    assert buttons(rendered) == [("Acknowledge", "ack:42"), ("Resolve", "resolve:42")]


def test_alert_text_is_escaped() -> None:
    incident = make_incident(
        title="<b>x</b> & y", summary="p99 < 5ms && errors > 1%", labels={"job": "<script>", "a&b": "c"}
    )
    rendered = render_incident(incident, public_url=URL, silence_enabled=True)
    text = shown(rendered.text)
    assert "<b>x</b> & y" in text and "p99 < 5ms && errors > 1%" in text and "<script>" in text
    assert "&lt;script&gt;" in rendered.text and "<script>" not in rendered.text
    assert "a&amp;b" in rendered.text


def test_keyboard_follows_the_status() -> None:
    acked = make_incident(status=Status.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=T0)
    rendered = render_incident(acked, public_url=URL, silence_enabled=True)
    assert buttons(rendered) == [("Resolve", "resolve:42"), ("Silence 1h", "silence:42")]
    assert "Acknowledged by alice at 2026-11-26 12:00 UTC" in shown(rendered.text)
    resolved = replace(acked, status=Status.RESOLVED, resolved_by="bob", resolved_at=T0 + timedelta(minutes=5))
    rendered = render_incident(resolved, public_url=URL, silence_enabled=True)
    assert rendered.keyboard is None
    assert shown(rendered.text).startswith("✅") and "Resolved by bob at 2026-11-26 12:05 UTC" in shown(rendered.text)


def test_recent_events_are_listed() -> None:
    acked = Event(1, 42, "acknowledged", "alice", "telegram", "Acknowledged by alice", {}, T0)
    noted = Event(2, 42, "note", "bob", "slack", "on it <now>", {}, T0)
    rendered = render_incident(make_incident(), public_url=URL, silence_enabled=False, recent_events=[acked, noted],
                               names={"alice": "Alice Example"})
    # The same words as Slack's thread: the config user's name and the channel's name, not raw ids.
    assert "2026-11-26 12:00 UTC Acknowledged by Alice Example via Telegram" in shown(rendered.text)
    assert "2026-11-26 12:00 UTC on it <now> (by bob via Slack)" in shown(rendered.text)


def test_huge_incident_is_shortened_not_rejected() -> None:
    labels = {f"label_{i:03}": "v&<" * 60 for i in range(200)}
    incident = make_incident(summary="S<&" * 3000, title="T" * 1000, labels=labels)
    events = [Event(i, 42, "note", "bob", "api", "n" * 500, {}, T0) for i in range(10)]
    rendered = render_incident(incident, public_url=URL, silence_enabled=True, recent_events=events)
    text = shown(rendered.text)
    assert utf16_len(text) <= MAX_TEXT
    assert "more labels on the dashboard" in text and "Dashboard" in text
    assert "Status: TRIGGERED" in text


def test_shorten_counts_utf16_and_never_splits_a_pair() -> None:
    assert shorten("😀" * 10, 5) == "😀😀…"
    assert utf16_len(shorten("😀" * 10, 5)) <= 5
    assert shorten("short", 10) == "short"


def test_incident_list() -> None:
    html_text = render_incident_list([make_incident(title="a < b"), make_incident(id=43)], URL)
    assert "Open incidents (2)" in shown(html_text) and "a &lt; b" in html_text
    assert render_incident_list([], URL) == "No open incidents. ✅"
    many = render_incident_list([make_incident(id=i, title="x" * 200) for i in range(1, 100)], URL)
    assert utf16_len(shown(many)) <= MAX_TEXT and "… and 69 more" in shown(many)


label_text = st.text(min_size=0, max_size=400)


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(max_size=2000),
    summary=st.text(max_size=6000),
    labels=st.dictionaries(st.text(min_size=1, max_size=80), label_text, max_size=40),
    status=st.sampled_from(list(Status)),
    event_messages=st.lists(st.text(max_size=400), max_size=8),
)
def test_any_incident_renders_valid_html_within_the_limit(
    title: str, summary: str, labels: dict[str, str], status: Status, event_messages: list[str]
) -> None:
    incident = make_incident(title=title, summary=summary, labels=labels, status=status)
    events = [Event(i, 42, "note", "x", "api", m, {}, T0) for i, m in enumerate(event_messages)]
    rendered = render_incident(incident, public_url=URL, silence_enabled=True, recent_events=events)
    text = shown(rendered.text)  # parses as Telegram HTML: every tag closed, every & escaped
    assert utf16_len(text) <= MAX_TEXT
    assert "#42" in text.splitlines()[0]
    assert summary.strip()[:100] in text  # shortened, if at all, far beyond its start
    shown_labels = sum(1 for key in labels if f"{shorten(key, 64)} = " in text)
    assert shown_labels == len(labels) or "more label" in text
    assert (rendered.keyboard is None) == (status is Status.RESOLVED)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300), limit=st.integers(min_value=1, max_value=300))
def test_shorten_is_a_prefix_within_the_limit(text: str, limit: int) -> None:
    out = shorten(text, limit)
    assert utf16_len(out) <= limit
    assert out == text or (out.endswith("…") and text.startswith(out[:-1].rstrip()))
