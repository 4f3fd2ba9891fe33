"""The webhook parser: real Alertmanager bodies, times, and leniency towards odd alerts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from tests.conftest import load_sample
from webhook.alertmanager import PayloadError, labels_fingerprint, parse_time, parse_webhook


def test_parses_a_real_firing_group() -> None:
    batch = parse_webhook(load_sample("01_firing_group_2alerts_amtool.json"))
    assert batch.group_key == '{}:{alertname="HighLatency"}'
    assert batch.external_url == "http://vm:19093"
    assert batch.group_labels == {"alertname": "HighLatency"}
    assert [a.fingerprint for a in batch.alerts] == ["fc743ab8546c68a4", "d2a344f0a62de346"]
    first = batch.alerts[0]
    assert first.firing and first.ends_at is None
    assert first.starts_at == datetime(2026, 11, 26, 19, 1, 58, 600366, tzinfo=UTC)
    assert first.annotations["runbook_url"] == "https://runbooks.example/high-latency"
    assert batch.skipped == []


def test_resolved_alert_keeps_its_end_time() -> None:
    batch = parse_webhook(load_sample("04_resolved_group_2alerts.json"))
    assert [a.status for a in batch.alerts] == ["resolved", "resolved"]
    assert batch.alerts[1].ends_at == datetime(2026, 11, 26, 19, 2, 25, 680000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T19:01:58.600366924Z", datetime(2026, 11, 26, 19, 1, 58, 600366, tzinfo=UTC)),
        ("2026-11-26T19:01:58.600366Z", datetime(2026, 11, 26, 19, 1, 58, 600366, tzinfo=UTC)),
        ("2026-11-26T20:01:58.6+01:00", datetime(2026, 11, 26, 19, 1, 58, 600000, tzinfo=UTC)),
        ("2026-11-26T19:02:25Z", datetime(2026, 11, 26, 19, 2, 25, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
    ],
)
def test_times_are_instants_whatever_their_precision(text: str, expected: datetime | None) -> None:
    assert parse_time(text, "startsAt") == expected


@pytest.mark.parametrize("bad", ["yesterday", "", 12, None, "2026-11-26T19:01:58"])
def test_bad_times_are_refused_with_the_field_name(bad: object) -> None:
    with pytest.raises(ValueError, match="startsAt"):
        parse_time(bad, "startsAt")


def test_one_malformed_alert_does_not_reject_the_rest() -> None:
    body = load_sample("02_firing_group_3alerts_curl_added.json")
    body["alerts"][1]["startsAt"] = "not a time"
    body["alerts"].append("not an object")
    body["alerts"].append({"status": "firing", "labels": {}, "startsAt": "2026-11-26T19:00:00Z"})
    body["alerts"].append({"status": "exploded", "labels": {"a": "b"}, "startsAt": "2026-11-26T19:00:00Z"})
    body["alerts"].append({"labels": {"a": 1}, "startsAt": "2026-11-26T19:00:00Z"})
    batch = parse_webhook(body)
    assert len(batch.alerts) == 2
    reasons = {s.index: s.reason for s in batch.skipped}
    assert set(reasons) == {1, 3, 4, 5, 6}
    assert "startsAt" in reasons[1]
    assert "must be an object" in reasons[3]
    assert "labels must not be empty" in reasons[4]
    assert "status must be" in reasons[5]
    assert "labels.a must be a string" in reasons[6]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"alerts": "x"}, "alerts must be a list"),
        ({"version": "3", "alerts": []}, "unsupported webhook version"),
        ({"alerts": [], "groupLabels": {"a": 1}}, "groupLabels.a must be a string"),
        ({"alerts": [], "groupKey": 5}, "groupKey must be a string"),
    ],
)
def test_wrong_bodies_raise_payload_errors(body: object, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_webhook(body)


def test_senders_without_fingerprint_or_group_key_still_work() -> None:
    body = copy.deepcopy(load_sample("05_firing_from_prometheus.json"))
    del body["alerts"][0]["fingerprint"]
    del body["groupKey"]
    batch = parse_webhook(body)
    assert batch.alerts[0].fingerprint == labels_fingerprint(body["alerts"][0]["labels"])
    assert batch.group_key == '{}:{alertname="AlwaysFiring"}'


def test_fingerprint_is_stable_and_order_independent() -> None:
    assert labels_fingerprint({"a": "1", "b": "2"}) == labels_fingerprint({"b": "2", "a": "1"})
    assert labels_fingerprint({"a": "1"}) != labels_fingerprint({"a": "2"})
