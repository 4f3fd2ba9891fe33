"""Grouping keys and the fields an incident takes from its alerts."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from store.domain.alerts import AlertSignal
from store.domain.grouping import AlertFacts, common_items, derive_fields, group_key_for, group_labels_for
from store.domain.incident import highest_severity, normalize_severity
from store.domain.routing import Route, RouteTable

T = datetime(2026, 1, 1, tzinfo=UTC)


def signal(**labels: str) -> AlertSignal:
    return AlertSignal("fp" + "".join(labels.values()), "firing", T, None, labels, {})


def test_default_grouping_is_alertmanagers_group_key() -> None:
    route = Route(id="default")
    a, b = signal(alertname="X", instance="1"), signal(alertname="X", instance="2")
    assert group_key_for(route, a, '{}:{alertname="X"}') == group_key_for(route, b, '{}:{alertname="X"}')
    assert group_key_for(route, a, "k1") != group_key_for(route, a, "k2")


def test_route_group_by_uses_label_values() -> None:
    route = Route(id="r1", group_by=("alertname", "cluster"))
    a = signal(alertname="X", cluster="eu", instance="1")
    b = signal(alertname="X", cluster="eu", instance="2")
    c = signal(alertname="X", cluster="us", instance="1")
    assert group_key_for(route, a, "k") == group_key_for(route, b, "other")
    assert group_key_for(route, a, "k") != group_key_for(route, c, "k")
    assert group_labels_for(route, a, {}) == {"alertname": "X", "cluster": "eu"}


def test_group_by_dots_groups_each_alert_alone() -> None:
    route = Route(id="r", group_by=("...",))
    assert group_key_for(route, signal(a="1"), "k") != group_key_for(route, signal(a="2"), "k")


def test_routes_first_match_wins_else_default() -> None:
    class Eq:
        def __init__(self, name: str, value: str) -> None:
            self.name, self.value = name, value

        def matches(self, labels: dict[str, str]) -> bool:
            return labels.get(self.name, "") == self.value

    critical = Route(id="crit", matchers=(Eq("severity", "critical"),))
    catch_all = Route(id="all")
    table = RouteTable(routes=(critical, catch_all))
    assert table.route_for({"severity": "critical"}).id == "crit"
    assert table.route_for({"severity": "info"}).id == "all"
    assert RouteTable(routes=(critical,)).route_for({}).id == "default"


def test_severity_order_and_default() -> None:
    assert highest_severity(["info", "critical", "warning"]) == "critical"
    assert highest_severity(["info", None]) == "warning"  # no label counts as warning
    assert highest_severity(["error", "info"]) == "error"
    assert highest_severity([]) == "warning"
    assert normalize_severity("CRITICAL ") == "critical"
    assert normalize_severity("page") == "warning"


def facts(status: str, labels: dict[str, str], annotations: dict[str, str], url: str = "") -> AlertFacts:
    return AlertFacts(status, labels, annotations, url)


def test_title_prefers_common_summary() -> None:
    alerts = [
        facts("firing", {"alertname": "Disk", "severity": "info"}, {"summary": "Disk almost full"}),
        facts("firing", {"alertname": "Disk", "severity": "critical"}, {"summary": "Disk almost full"}),
    ]
    fields = derive_fields(alerts, {"alertname": "Disk"}, "")
    assert fields.title == "Disk almost full"
    assert fields.severity == "critical"
    assert fields.summary == "Disk almost full"
    assert fields.links == {}


def test_title_falls_back_to_alertname_and_group_values() -> None:
    alerts = [
        facts("firing", {"alertname": "Lat", "cluster": "eu"}, {"summary": "a"}, "http://g/1"),
        facts("resolved", {"alertname": "Lat", "cluster": "eu"}, {"summary": "b", "runbook_url": "http://rb"}),
    ]
    fields = derive_fields(alerts, {"alertname": "Lat", "cluster": "eu"}, "http://am:9093/")
    assert fields.title == "Lat (eu)"
    assert fields.summary == "a"
    assert fields.alert_count == 2 and fields.firing_count == 1
    assert fields.links["source"] == "http://g/1"
    assert "runbook" not in fields.links  # only firing alerts' links while something fires
    assert fields.links["alertmanager"].startswith("http://am:9093/#/alerts?filter=")


def test_severity_ignores_resolved_alerts_while_some_fire() -> None:
    alerts = [facts("resolved", {"severity": "critical"}, {}), facts("firing", {"severity": "info"}, {})]
    assert derive_fields(alerts, {}, "").severity == "info"


label_maps = st.lists(st.dictionaries(st.sampled_from("abcd"), st.sampled_from("xyz"), max_size=4), min_size=1)


@given(label_maps)
def test_common_items_are_in_every_map(maps: list[dict[str, str]]) -> None:
    common = common_items(maps)
    for m in maps:
        assert all(m.get(k) == v for k, v in common.items())
    for key, value in maps[0].items():
        if all(m.get(key) == value for m in maps):
            assert common[key] == value
