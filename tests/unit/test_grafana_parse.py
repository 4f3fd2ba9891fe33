"""Grafana Alerting's webhook body (built from Grafana's documented format, tests/fixtures/grafana/README.md)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import load_grafana_sample
from webhook.alertmanager import PayloadError
from webhook.grafana import parse_grafana

FIRING = load_grafana_sample("01_firing_2alerts.json")


def test_a_firing_group_becomes_a_batch_of_grafanas_origin() -> None:
    batch = parse_grafana(FIRING)
    assert batch.origin.source == "grafana" and batch.origin.name == "Grafana"
    assert batch.group_key == "grafana:1:" + FIRING["groupKey"]  # apart from Alertmanager's and other orgs' keys
    assert batch.group_labels == {"alertname": "High memory usage", "grafana_folder": "Infra"}
    assert batch.external_url == ""  # Grafana is not an Alertmanager: no Alertmanager link
    assert [a.fingerprint for a in batch.alerts] == ["c6eadffa33fcdf37", "bc97ff14869b13e3"]
    first = batch.alerts[0]
    assert first.firing and first.ends_at is None
    assert first.starts_at == datetime(2026, 11, 26, 18, 2, 30, 157076, tzinfo=UTC)
    assert first.generator_url.endswith("/alerting/grafana/1afz29v7z/view?orgId=1")
    assert first.annotations["summary"] == "Memory of api-1 is above 90%"
    assert first.annotations["values"] == "B=93.2394, C=1"
    assert first.annotations["image_url"].endswith("c6eadffa33fcdf37.png")
    assert "matcher=team%3Dblue" in first.annotations["silence_url"]


def test_a_firing_alerts_dashboard_links_drop_grafanas_moving_end_so_a_repeat_is_the_same_alert() -> None:
    first = parse_grafana(FIRING).alerts[0]
    later = parse_grafana(load_grafana_sample("02_firing_2alerts_5m_later.json")).alerts[0]
    for key in ("dashboard_url", "panel_url"):
        query = parse_qs(urlsplit(first.annotations[key]).query)
        assert "to" not in query and query["from"] == ["1795712550157"] and query["orgId"] == ["1"]
        assert first.annotations[key] == later.annotations[key]
    assert parse_qs(urlsplit(first.annotations["panel_url"]).query)["viewPanel"] == ["4"]
    assert first.labels == later.labels and first.starts_at == later.starts_at  # same identity
    assert later.annotations["values"] == "B=94.5, C=1"  # what changed is only what Grafana evaluated


def test_a_resolved_alert_keeps_the_whole_window_of_its_dashboard_link() -> None:
    resolved = parse_grafana(load_grafana_sample("03_resolved_2alerts.json")).alerts[0]
    assert resolved.status == "resolved" and resolved.ends_at == datetime(2026, 11, 26, 19, 40, tzinfo=UTC)
    assert parse_qs(urlsplit(resolved.annotations["dashboard_url"]).query)["to"] == ["1795722000000"]


def test_the_contact_points_test_button_is_an_alert_without_links() -> None:
    (alert,) = parse_grafana(load_grafana_sample("04_test_notification.json")).alerts
    assert alert.labels == {"alertname": "TestAlert", "instance": "Grafana"}
    assert "dashboard_url" not in alert.annotations and "values" not in alert.annotations


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "4"}, "version"),
        ({"orgId": "one"}, "orgId"),
        ({"orgId": True}, "orgId"),
        ({"title": ["x"]}, "title"),
        ({"state": 1}, "state"),
        ({"alerts": {}}, "alerts"),
        ({"groupLabels": {"a": 1}}, "groupLabels"),
        ({"groupKey": 5}, "groupKey"),
    ],
)
def test_a_body_of_the_wrong_shape_names_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_grafana({**copy.deepcopy(FIRING), **change})
    assert caught.value.status == 422 and field in str(caught.value)


def test_an_odd_alert_is_skipped_with_its_reason_and_the_others_kept() -> None:
    body = copy.deepcopy(FIRING)
    body["alerts"][1]["dashboardURL"] = 42
    body["alerts"].append({**copy.deepcopy(FIRING["alerts"][0]), "values": {"B": "high"}, "fingerprint": "ab"})
    batch = parse_grafana(body)
    assert [a.fingerprint for a in batch.alerts] == ["c6eadffa33fcdf37"]
    assert [(s.index, s.reason) for s in batch.skipped] == [
        (1, "dashboardURL must be a URL of at most 4096 characters"), (2, "values must be an object of numbers")]


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(PayloadError, match="Grafana Alerting webhook"):
        parse_grafana([FIRING])
