"""Email rendering (pure): subjects, escaping, links."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.email.render import render_email, subject_for
from store.domain.incident import Status
from store.models import Event, Incident
from tests.support.incident_values import make_incident

T = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)


def incident(**changes: object) -> Incident:
    values: dict = dict(
        group_key="k",
        title="HighLatency",
        summary="p99 <b>above</b> 2s & rising",
        labels={"alertname": "HighLatency", "team": "a<b & c"},
        group_labels={},
        links={"runbook": "https://runbooks.example/r?a=1&b=2", "source": "javascript:alert(1)"},
        external_url="",
        alert_count=2,
        firing_alert_count=1,
        created_at=T,
        updated_at=T,
        triggered_at=T,
    )
    values.update(changes)
    return make_incident(**values)


def test_subject_names_what_the_mail_announces() -> None:
    assert subject_for(incident(), "opened") == "[TRIGGERED] #42 HighLatency (critical)"
    assert subject_for(incident(status=Status.RESOLVED), "acknowledged").startswith("[ACKNOWLEDGED] #42 ")
    assert subject_for(incident(status=Status.RESOLVED), "resolved").startswith("[RESOLVED] #42 ")
    assert subject_for(incident(), "reopened").startswith("[TRIGGERED] ")


def test_subject_is_one_line_and_bounded() -> None:
    subject = subject_for(incident(title="a\r\nBcc: evil@example.com\n" + "x" * 500), "opened")
    assert "\n" not in subject and "\r" not in subject and len(subject) < 200


def test_html_escapes_everything_from_alerts_and_drops_non_web_links() -> None:
    note = Event(1, 42, "note", "bob<script>", "api", "it's <b>fine</b> & done", {}, T)
    mail = render_email(incident(), "opened", [note], "https://tocsin.example/")
    assert "a&lt;b &amp; c" in mail.html and "a<b & c" not in mail.html
    assert "p99 &lt;b&gt;above&lt;/b&gt; 2s &amp; rising" in mail.html
    assert "bob&lt;script&gt;" in mail.html and "<script>" not in mail.html
    assert 'href="https://runbooks.example/r?a=1&amp;b=2"' in mail.html
    assert 'href="https://tocsin.example/incidents/42"' in mail.html
    assert "javascript:" not in mail.html and "javascript:" not in mail.text
    assert "team=a<b & c" in mail.text and "Runbook: https://runbooks.example/r?a=1&b=2" in mail.text
    assert "Dashboard: https://tocsin.example/incidents/42" in mail.text


def test_acknowledged_and_resolved_mails_say_who_and_when() -> None:
    done = incident(
        status=Status.RESOLVED, acknowledged_at=T, acknowledged_by="alice", resolved_at=T, resolved_by="bob"
    )
    mail = render_email(done, "resolved", [], "http://localhost:8080")
    assert "Acknowledged by alice at 2026-11-26 19:03:00 UTC" in mail.text
    assert "Resolved by bob at 2026-11-26 19:03:00 UTC" in mail.text
    assert "Incident resolved" in mail.html
