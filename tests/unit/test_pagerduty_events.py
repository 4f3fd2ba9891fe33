"""PagerDuty Events API v2 events: what is refused (each problem naming its field, as PagerDuty words it) and
what an accepted trigger becomes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from store.domain.outgoing import Integration, integration_for
from webhook.pagerduty import InvalidEvent, fingerprint, parse_event, resolve_batch, trigger_batch

KEY = "0123456789abcdef0123456789abcdef"
SENTRY = Integration("sentry", "pagerduty_events", KEY, {"team": "web", "severity": "critical"})
TRIGGER: dict[str, Any] = {
    "routing_key": KEY,
    "event_action": "trigger",
    "dedup_key": "checkout-500s",
    "payload": {"summary": "Checkout answers 500", "source": "web-1.example.net", "severity": "error",
                "component": "checkout", "group": "shop", "class": "http", "custom_details": {"rate": 0.2},
                "timestamp": "2026-11-26T19:02:30.000+0000"},
    "client": "Sentry",
    "client_url": "https://sentry.example/issues/1",
    "links": [{"href": "https://wiki.example/checkout", "text": "Runbook"}],
    "images": [{"src": "https://sentry.example/graph.png", "alt": "graph"}],
}


def event(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(TRIGGER)
    body.update(changes)
    return body


def errors_of(body: Any) -> list[str]:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(body)
    return caught.value.errors


def test_a_trigger_becomes_one_firing_alert_routed_by_the_integrations_labels() -> None:
    parsed = parse_event(TRIGGER)
    start = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)
    batch = trigger_batch(parsed, SENTRY, "checkout-500s", start)
    (alert,) = batch.alerts
    assert alert.fingerprint == "sentry:checkout-500s" and batch.group_key == "pagerduty:sentry:checkout-500s"
    assert alert.firing and alert.starts_at == start
    # the integration's labels win over the payload's (severity), so its routes decide
    assert alert.labels == {"alertname": "sentry", "severity": "critical", "source": "web-1.example.net",
                            "component": "checkout", "group": "shop", "class": "http", "team": "web"}
    assert alert.annotations == {"summary": "Checkout answers 500", "custom_details": '{"rate":0.2}',
                                 "links": "Runbook https://wiki.example/checkout",
                                 "image_url": "https://sentry.example/graph.png", "client": "Sentry"}
    assert alert.generator_url == "https://sentry.example/issues/1"
    assert batch.origin.source == "pagerduty" and batch.origin.actor == "sentry"


def test_a_resolve_keeps_the_stored_alerts_content() -> None:
    stored = trigger_batch(parse_event(TRIGGER), SENTRY, "k", datetime(2026, 11, 26, tzinfo=UTC)).alerts[0]
    (resolved,) = resolve_batch(stored, SENTRY, datetime(2026, 11, 27, tzinfo=UTC)).alerts
    assert resolved.status == "resolved" and resolved.ends_at == datetime(2026, 11, 27, tzinfo=UTC)
    assert (resolved.fingerprint, resolved.starts_at, resolved.labels, resolved.annotations) == (
        stored.fingerprint, stored.starts_at, stored.labels, stored.annotations)


def test_acknowledge_and_resolve_need_only_the_key() -> None:
    for action in ("acknowledge", "resolve"):
        parsed = parse_event({"routing_key": KEY, "event_action": action, "dedup_key": "k"})
        assert (parsed.action, parsed.dedup_key, parsed.payload) == (action, "k", {})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("trigger", "the event must be a JSON object"),
        (event(routing_key=""), "'routing_key' is missing or blank"),
        (event(event_action="snooze"), "'event_action' is invalid"),
        (event(payload=None), "'payload' is missing or not an object"),
        (event(payload={"source": "x", "severity": "error"}), "'payload.summary' is missing or blank"),
        (event(payload={"summary": "x", "severity": "error"}), "'payload.source' is missing or blank"),
        (event(payload={"summary": "x", "source": "y", "severity": "CRITICAL"}), "'payload.severity' is invalid"),
        (event(payload={**TRIGGER["payload"], "timestamp": "yesterday"}), "'payload.timestamp' is not a valid"),
        (event(payload={**TRIGGER["payload"], "component": 5}), "'payload.component' must be a string"),
        (event(dedup_key="k" * 256), "'dedup_key' is longer than 255 characters"),
        ({"routing_key": KEY, "event_action": "resolve"}, "'dedup_key' is required for a resolve event"),
        ({"routing_key": KEY, "event_action": "acknowledge"}, "'dedup_key' is required for an acknowledge event"),
        (event(links=[{"text": "no href"}]), "'links[0].href' must be an http or https URL"),
        (event(images=[{"src": "javascript:alert(1)"}]), "'images[0].src' must be an http or https URL"),
        (event(client_url="ftp://x"), "'client_url' must be an http or https URL"),
    ],
)
def test_each_problem_names_its_field(body: Any, expected: str) -> None:
    assert any(e.startswith(expected) for e in errors_of(body)), errors_of(body)


def test_every_problem_is_listed_at_once() -> None:
    errors = errors_of({"event_action": "trigger", "payload": {"severity": "loud"}})
    assert len(errors) == 4  # routing_key, summary, source, severity


def test_a_long_summary_is_cut_as_pagerduty_cuts_it() -> None:
    parsed = parse_event(event(payload={**TRIGGER["payload"], "summary": "x" * 5000}))
    assert len(parsed.payload["summary"]) == 1024


def test_a_long_dedup_key_gets_a_fingerprint_of_bounded_length() -> None:
    long_key = "k" * 255
    assert len(fingerprint(SENTRY, long_key)) <= 128
    assert fingerprint(SENTRY, long_key) != fingerprint(SENTRY, long_key[:-1] + "j")


def test_routing_keys_are_found_only_when_equal() -> None:
    other = Integration("zabbix", "pagerduty_events", "f" * 32)
    assert integration_for([SENTRY, other], KEY) is SENTRY
    assert integration_for([SENTRY, other], "f" * 32) is other
    assert integration_for([SENTRY, other], KEY.upper()) is None
    assert integration_for([SENTRY, other], "") is None
