"""The config's integrations, webhooks and route keys pagerduty and jira: read, and each wrong key refused with one
line naming it (secrets never repeated)."""

from __future__ import annotations

from typing import Any

import pytest

from store.domain.config_schema import ConfigError, parse_config
from store.domain.delivery import channels_for, manual_channels, notifies, targets_of
from store.domain.outgoing import WEBHOOK_EVENTS, JiraTarget, PagerDutyTarget

KEY = "0123456789abcdef0123456789abcdef"
SECRET = "s3cr3t-s3cr3t-s3cr3t"
GOOD: dict[str, Any] = {
    "integrations": [{"id": "sentry", "kind": "pagerduty_events", "routing_key": KEY, "labels": {"team": "web"}}],
    "webhooks": [
        {"id": "audit", "url": "https://hooks.example.com/tocsin", "secret": SECRET},
        {"id": "db-bot", "url": "http://127.0.0.1:9/x", "events": ["opened", "resolved"], "match": ['team="db"'],
         "template": '{"text": "#{{ incident.id }} {{ event.kind }}"}'},
    ],
    "routes": [{"id": "web", "match": ['team="web"'], "pagerduty": {"routing_key": "f" * 32},
                "jira": {"project": "OPS", "issue_type": "Incident", "summary": "{{ incident.title }}",
                         "fields": {"priority": '{"name": "High"}'}, "reopen_transition": "Reopen"}}],
}


def only_problem(data: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    lines = caught.value.lines("tocsin.yml")
    assert len(lines) == 1, lines
    return lines[0]


def test_integrations_webhooks_and_route_targets_are_read() -> None:
    config = parse_config(GOOD)
    (sentry,) = config.integrations
    assert (sentry.id, sentry.kind, sentry.routing_key, dict(sentry.labels)) == ("sentry", "pagerduty_events", KEY,
                                                                                  {"team": "web"})
    audit, bot = config.routes.webhooks
    assert audit.events == WEBHOOK_EVENTS and audit.secret == SECRET and audit.matches({})
    assert bot.events == ("opened", "resolved") and bot.matches({"team": "db"}) and not bot.matches({"team": "web"})
    route = config.routes.routes[0]
    assert route.pagerduty == PagerDutyTarget("f" * 32)
    assert route.jira == JiraTarget("OPS", "Incident", "{{ incident.title }}", None, {"priority": '{"name": "High"}'},
                                    "Done", "Reopen")
    assert set(config.secrets()) == {KEY, SECRET, "f" * 32}
    assert KEY not in repr(config) and SECRET not in repr(config)  # secrets stay out of logs of the config


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"integrations": [{"id": "x", "kind": "pagerduty_events", "routing_key": KEY, "colour": 1}]},
         "tocsin.yml: integrations[0].colour: unknown key; expected one of id, kind, routing_key, labels"),
        ({"integrations": [{"id": "x", "kind": "opsgenie", "routing_key": KEY}]},
         "tocsin.yml: integrations[0].kind: got the text 'opsgenie'; expected one of pagerduty_events"),
        ({"integrations": [{"id": "x", "kind": "pagerduty_events"}]},
         "tocsin.yml: integrations[0].routing_key: missing; this key is required"),
        ({"integrations": [{"id": "x", "kind": "pagerduty_events", "routing_key": KEY, "labels": ["team"]}]},
         "tocsin.yml: integrations[0].labels: got a list; expected a mapping of label names to values"),
        ({"integrations": [{"id": "x", "kind": "pagerduty_events", "routing_key": KEY},
                           {"id": "y", "kind": "pagerduty_events", "routing_key": KEY}]},
         "tocsin.yml: integrations[1].routing_key: the same routing key as integrations[0].routing_key"),
        ({"webhooks": [{"id": "w", "url": "hooks.example.com"}]},
         "tocsin.yml: webhooks[0].url: not a web address; expected an http:// or https:// URL"),
        ({"webhooks": [{"id": "w", "url": "https://h.example", "events": ["opened", "paged"]}]},
         "tocsin.yml: webhooks[0].events[1]: got the text 'paged'; expected one of opened, acknowledged"),
        ({"webhooks": [{"id": "w", "url": "https://h.example", "events": []}]},
         "tocsin.yml: webhooks[0].events: empty; expected a list of one or more event names"),
        ({"webhooks": [{"id": "w", "url": "https://h.example", "match": ["team=~("]}]},
         "tocsin.yml: webhooks[0].match[0]: "),
        ({"webhooks": [{"id": "w", "url": "https://h.example", "template": "{{ incident.titel }}"}]},
         "tocsin.yml: webhooks[0].template: UndefinedError: 'dict object' has no attribute 'titel'"),
        ({"webhooks": [{"id": "w", "url": "https://h.example", "template": "{% for %}"}]},
         "tocsin.yml: webhooks[0].template: TemplateSyntaxError (line 1): "),
        ({"webhooks": [{"id": "w", "url": "https://h.example"}, {"id": "w", "url": "https://i.example"}]},
         "tocsin.yml: webhooks[1].id: duplicate id 'w' (also at webhooks[0].id)"),
        ({"routes": [{"id": "r", "pagerduty": "f" * 32}]},
         "tocsin.yml: routes[0].pagerduty: got text; expected a mapping with the key routing_key"),
        ({"routes": [{"id": "r", "pagerduty": {"routing_key": "f" * 32, "severity": "high"}}]},
         "tocsin.yml: routes[0].pagerduty.severity: unknown key; expected one of routing_key"),
        ({"routes": [{"id": "r", "jira": {"project": "OPS"}}]},
         "tocsin.yml: routes[0].jira.issue_type: missing; this key is required"),
        ({"routes": [{"id": "r", "jira": {"project": "ops-1", "issue_type": "Bug"}}]},
         "tocsin.yml: routes[0].jira.project: got the text 'ops-1'; expected a Jira project key such as OPS"),
        ({"routes": [{"id": "r", "jira": {"project": "OPS", "issue_type": "Bug", "fields": {"project": "X"}}}]},
         "tocsin.yml: routes[0].jira.fields.project: not a field id to set"),
        ({"routes": [{"id": "r", "jira": {"project": "OPS", "issue_type": "Bug", "board": 1}}]},
         "tocsin.yml: routes[0].jira.board: unknown key; expected one of project, issue_type, summary"),
    ],
)
def test_a_wrong_key_is_one_line_naming_it(data: dict[str, Any], expected: str) -> None:
    assert only_problem(data).startswith(expected)


@pytest.mark.parametrize(
    "data",
    [
        {"integrations": [{"id": "x", "kind": "pagerduty_events", "routing_key": KEY[:-1] + "!"}]},
        {"webhooks": [{"id": "w", "url": "https://h.example", "secret": SECRET[:10]}]},
        {"routes": [{"id": "r", "pagerduty": {"routing_key": KEY[:-1] + " "}}]},
        {"routes": [{"id": "r", "pagerduty": KEY}]},
        {"integrations": [KEY]},
    ],
)
def test_a_wrong_secret_is_refused_without_repeating_it(data: dict[str, Any]) -> None:
    line = only_problem(data)
    assert "not a usable secret" in line or "got text;" in line
    assert KEY[:20] not in line and SECRET[:10] not in line


def test_an_incident_reaches_its_routes_pagerduty_and_jira_and_the_webhooks_matching_its_labels() -> None:
    config = parse_config(GOOD)
    route = config.routes.routes[0]
    channels = channels_for(route, config.routes.default, {"team": "web"}, config.routes.webhooks)
    assert channels["pagerduty"] == "web" and channels["jira"] == "web"  # the key stays in the config
    assert channels["webhook:audit"] == {"target": "audit", "events": list(WEBHOOK_EVENTS)}
    assert "webhook:db-bot" not in channels
    assert ("webhook:audit", "audit") in targets_of(channels) and ("pagerduty", "web") in targets_of(channels)
    db_channels = channels_for(config.routes.default, config.routes.default, {"team": "db"}, config.routes.webhooks)
    assert set(db_channels) == {"webhook:audit", "webhook:db-bot"}


def test_a_manual_incident_reaches_the_webhooks_matching_its_severity() -> None:
    config = parse_config({"webhooks": [{"id": "pages", "url": "https://h.example", "match": ['severity="critical"']}]})
    assert "webhook:pages" in manual_channels(config.routes, "critical")
    assert "webhook:pages" not in manual_channels(config.routes, "warning")


@pytest.mark.parametrize(
    ("channel", "spec", "kind", "heard"),
    [
        ("webhook:db-bot", {"target": "db-bot", "events": ["opened", "resolved"]}, "resolved", True),
        ("webhook:db-bot", {"target": "db-bot", "events": ["opened", "resolved"]}, "acknowledged", False),
        ("webhook:db-bot", {"target": "db-bot", "events": ["opened"]}, "alert_firing", False),
        ("pagerduty", "web", "acknowledged", True),
        ("pagerduty", "web", "note", False),
        ("jira", "web", "reopened", True),
        ("jira", "web", "ticket", False),
        ("slack", "C0OPS", "ticket", True),
        ("email", ["ops@example.com"], "ticket", False),
    ],
)
def test_who_hears_what(channel: str, spec: object, kind: str, heard: bool) -> None:
    assert notifies(channel, kind, spec) is heard
