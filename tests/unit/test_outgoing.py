"""The outgoing integrations' pure parts: the webhook signature and body, the PagerDuty events that catch up with an
incident, a Jira issue's fields, Retry-After, and the presentation of an incident's Jira issue."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.discord.render import incident_message
from bot.email.render import render_email
from bot.mattermost.render import incident_post
from bot.outgoing.http import retry_after
from bot.outgoing.jira import issue_fields, transition_named
from bot.outgoing.jira_api import Transition
from bot.outgoing.pagerduty import actions, event_body
from bot.outgoing.webhooks import body_of, headers_of, signature
from bot.present import event_line, present
from bot.slack.render import incident_blocks
from bot.telegram.render import render_incident
from store.domain.incident import Status
from store.domain.jinja_templates import TemplateFailed
from store.domain.outgoing import JiraTarget, Webhook
from store.models import Delivery
from tests.support.incident_values import T0, make_event, make_incident
from web.api.shapes import event_json, incident_json

SECRET = "whsec-0123456789abcdef"
JIRA_TICKET = {"system": "jira", "key": "OPS-12", "url": "https://jira.example.com/browse/OPS-12"}


def delivery(kind: str = "update", first: int = 1, last: int = 1) -> Delivery:
    return Delivery(id=1, incident_id=42, channel="pagerduty", target="web", kind=kind, state="sending",
                    first_event_id=first, event_id=last, event_kind="opened", attempts=1, next_attempt_at=T0,
                    claimed_until=None, claim_token=None, last_error=None, external_ref=None, created_at=T0,
                    updated_at=T0, sent_at=None)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_as_documented() -> None:
    body = b'{"event": {"kind": "opened"}}'
    header = signature(SECRET, 1795712550, body)
    expected = hmac.new(SECRET.encode(), b"1795712550." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1795712550,v1={expected}"
    assert signature(SECRET, 1795712551, body) != header and signature("other-secret-xxxx", 1795712550, body) != header


def test_the_body_is_the_event_and_the_incident_as_the_api_shows_them() -> None:
    incident = incident_json(make_incident(tickets=[JIRA_TICKET]), "https://tocsin.example")
    event = event_json(make_event("acknowledged", "alice", "slack", id=9, message="Acknowledged by alice"))
    body, content_type = body_of(Webhook("audit", "https://h.example"), incident, event)
    assert content_type == "application/json"
    assert json.loads(body) == {"webhook": "audit", "event": event, "incident": incident}
    assert json.loads(body)["incident"]["tickets"] == [JIRA_TICKET]


def test_a_template_makes_the_body_json_when_it_renders_json_else_text() -> None:
    incident = incident_json(make_incident(), "https://tocsin.example")
    event = event_json(make_event("resolved"))
    text = '{"text": {{ (incident.title ~ " is " ~ event.kind) | tojson }}}'
    chat = Webhook("chat", "https://h.example", template=text)
    body, content_type = body_of(chat, incident, event)
    assert content_type == "application/json"
    assert json.loads(body) == {"text": "High error rate on checkout is resolved"}
    plain = Webhook("plain", "https://h.example", template="#{{ incident.id }} {{ event.kind }}")
    assert body_of(plain, incident, event) == (b"#42 resolved", "text/plain; charset=utf-8")
    broken = Webhook("broken", "https://h.example", template="{{ incident.labels.nope }}")
    with pytest.raises(TemplateFailed, match="nope"):
        body_of(broken, incident, event)


def test_headers_carry_the_event_and_the_signature_only_with_a_secret() -> None:
    event = make_event("note", id=77)
    signed = headers_of(Webhook("a", "https://h.example", secret=SECRET), event, b"{}", "application/json", 1000.9)
    assert signed["X-Tocsin-Event"] == "note" and signed["X-Tocsin-Event-Id"] == "77"
    assert signed["X-Tocsin-Signature"] == signature(SECRET, 1000, b"{}")
    assert "X-Tocsin-Signature" not in headers_of(Webhook("a", "https://h.example"), event, b"{}", "x", 1000)


@pytest.mark.parametrize(
    ("kind", "status", "starts", "expected"),
    [
        ("open", Status.TRIGGERED, ["opened"], ["trigger"]),
        ("open", Status.ACKNOWLEDGED, ["opened"], ["trigger", "acknowledge"]),
        ("open", Status.RESOLVED, ["opened"], ["trigger", "resolve"]),  # resolved before PagerDuty heard of it
        ("update", Status.ACKNOWLEDGED, [], ["acknowledge"]),
        ("update", Status.RESOLVED, [], ["resolve"]),
        ("update", Status.TRIGGERED, ["reopened"], ["trigger"]),
        ("update", Status.ACKNOWLEDGED, ["reopened"], ["trigger", "acknowledge"]),
    ],
)
def test_pagerduty_is_brought_to_the_incidents_state(kind: str, status: Status, starts: list[str],
                                                     expected: list[str]) -> None:
    events = [make_event(k) for k in starts]
    assert actions(delivery(kind), make_incident(status=status), events) == expected


def test_a_pagerduty_trigger_describes_the_incident_and_the_others_only_name_it() -> None:
    incident = make_incident(id=42, severity="error", labels={"instance": "db-1", "alertname": "Lag"})
    trigger = event_body("trigger", "k" * 32, incident, "https://tocsin.example")
    assert trigger["dedup_key"] == "tocsin-42" and trigger["event_action"] == "trigger"
    assert trigger["payload"]["summary"] == "#42 High error rate on checkout"
    assert trigger["payload"]["source"] == "db-1" and trigger["payload"]["severity"] == "error"
    assert trigger["payload"]["class"] == "Lag"
    assert trigger["client_url"] == "https://tocsin.example/incidents/42"
    assert {"href": "https://runbooks.example.com/checkout", "text": "Runbook"} in trigger["links"]
    assert event_body("resolve", "k" * 32, incident, "https://x") == {
        "routing_key": "k" * 32, "event_action": "resolve", "dedup_key": "tocsin-42"}


def test_a_jira_issue_is_made_from_the_routes_templates_with_the_label_that_finds_it_again() -> None:
    incident = make_incident()
    context = {"incident": incident_json(incident, "https://tocsin.example"), "event": event_json(make_event("opened"))}
    target = JiraTarget("OPS", "10002", summary="{{ incident.title }}\n  ({{ incident.severity }})",
                        fields={"priority": '{"name": "{{ \'Highest\' if incident.severity == \'critical\' else '
                                            '\'High\' }}"}', "labels": '["alerts"]',
                                "customfield_10010": "{{ incident.labels.service }}"})
    fields = issue_fields(target, context, incident)
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"id": "10002"}
    assert fields["summary"] == "High error rate on checkout (critical)"  # one line, as Jira wants
    assert fields["priority"] == {"name": "Highest"} and fields["customfield_10010"] == "checkout"
    assert fields["labels"] == ["alerts", "tocsin", "tocsin-42"]
    default = issue_fields(JiraTarget("OPS", "Incident"), context, incident)
    assert default["issuetype"] == {"name": "Incident"}
    assert default["summary"] == "[CRITICAL] #42 High error rate on checkout"
    assert "[#42|https://tocsin.example/incidents/42]" in default["description"]
    assert "*runbook:* https://runbooks.example.com/checkout" in default["description"]


def test_a_transition_is_found_by_its_name_or_the_status_it_leads_to() -> None:
    found = [Transition("11", "Start Progress", "In Progress"), Transition("31", "Close", "Done")]
    assert transition_named(found, "close") == found[1]
    assert transition_named(found, "Done") == found[1]
    assert transition_named(found, "Resolve") is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), ("0.5", 0.5), ("-3", 0.0), ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0), ("soon", None), ("", None)],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str, seconds: float | None) -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert retry_after({"Retry-After": value} if value else {}, now) == seconds


def test_every_channel_shows_the_incidents_jira_issue_as_a_link() -> None:
    shown = present(make_incident(tickets=[JIRA_TICKET]), public_url="https://tocsin.example")
    names = [link.name for link in shown.links]
    assert names[:2] == ["Dashboard", "Jira OPS-12"]
    assert shown.links[1].url == "https://jira.example.com/browse/OPS-12"
    unsafe = present(make_incident(tickets=[{**JIRA_TICKET, "url": "javascript:alert(1)"}]), public_url="https://x")
    assert [link.name for link in unsafe.links if link.name.startswith("Jira")] == []


def test_grafanas_dashboard_and_panel_are_shown_as_links() -> None:
    incident = make_incident(links={"dashboard": "https://grafana.example.com/d/a", "panel": "https://g.example/p"})
    names = [link.name for link in present(incident, public_url="https://x").links]
    assert names == ["Dashboard", "Grafana dashboard", "Grafana panel"]


def test_a_tools_acknowledge_names_the_tool_and_its_integration() -> None:
    ack = make_event("acknowledged", "sentry", "pagerduty", message="Acknowledged by sentry",
                     data={"assignee": "sentry"})
    assert event_line(ack) == "Acknowledged by sentry via PagerDuty events"
    opened = make_event("opened", "sentry", "pagerduty", message="Opened by sentry via PagerDuty events")
    assert event_line(opened) == "Opened by sentry via PagerDuty events"
    auto: dict[str, Any] = {"message": "Resolved: every alert has resolved"}
    assert event_line(make_event("resolved", "grafana", "grafana", **auto)) == "Resolved: every alert has resolved"


def test_chat_email_and_every_medium_show_the_jira_issue_and_grafanas_links() -> None:
    grafana = {"dashboard": "https://grafana.example.com/d/mem", "panel": "https://grafana.example.com/d/mem?viewPanel=4"}
    incident = make_incident(tickets=[JIRA_TICKET], links=grafana)
    url = "https://tocsin.example"
    rendered = {
        "slack": json.dumps(incident_blocks(incident, url)),
        "telegram": render_incident(incident, public_url=url, silence_enabled=False).text,
        "discord": json.dumps(incident_message(incident, [], url, False)),
        "mattermost": json.dumps(incident_post(incident, [], url, False, f"{url}/mattermost/actions", "s" * 32)),
        "email text": render_email(incident, "opened", [], url).text,
        "email html": render_email(incident, "opened", [], url).html,
    }
    for medium, text in rendered.items():
        assert "OPS-12" in text and "https://jira.example.com/browse/OPS-12" in text, medium
        assert "https://grafana.example.com/d/mem" in text and "Grafana panel" in text, medium
