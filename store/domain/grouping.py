"""Grouping keys and the incident fields derived from its alerts (title, severity, labels, links)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from store.domain.alerts import AlertSignal
from store.domain.derived import SHARED_KEYS, AlertView, Derived, full, severity_of
from store.domain.routing import Route


def group_key_for(route: Route, alert: AlertSignal, am_group_key: str) -> str:
    """The key of the incident group this alert belongs to under its route."""
    if route.group_by is None:
        return f"{route.id}|am|{am_group_key}"
    if "..." in route.group_by:
        return f"{route.id}|fp|{alert.fingerprint}"
    values = {name: alert.labels.get(name, "") for name in route.group_by}
    return f"{route.id}|by|{json.dumps(values, sort_keys=True, separators=(',', ':'))}"


def group_labels_for(route: Route, alert: AlertSignal, am_group_labels: Mapping[str, str]) -> dict[str, str]:
    """The label values that define the group (Alertmanager's groupLabels, or the route's group_by)."""
    if route.group_by is None:
        return dict(am_group_labels)
    if "..." in route.group_by:
        return dict(alert.labels)
    return {name: alert.labels[name] for name in route.group_by if name in alert.labels}


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What the incident's derived fields need to know of one stored alert (tests and tools build these)."""

    status: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str = ""


@dataclass(frozen=True, slots=True)
class IncidentFields:
    """Fields of an incident computed from its alerts."""

    title: str
    severity: str
    labels: dict[str, str]
    summary: str
    links: dict[str, str]
    alert_count: int
    firing_count: int


def common_items(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The key/value pairs present, with the same value, in every mapping."""
    if not maps:
        return {}
    common = dict(maps[0])
    for other in maps[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
        if not common:
            break
    return common


def _title(state: Derived, group_labels: Mapping[str, str]) -> str:
    summary = (state.shared.get("summary") or "").strip()
    if summary:
        return summary[:300]
    names = state.names
    alertname = group_labels.get("alertname") or (names[0] if len(names) == 1 else ", ".join(names))
    others = [v for k, v in sorted(group_labels.items()) if k != "alertname" and v]
    title = alertname or "Alert"
    if others:
        title += " (" + ", ".join(others) + ")"
    return title[:300]


def _summary(state: Derived) -> str:
    for key in SHARED_KEYS:
        if state.shared.get(key):
            return state.shared[key] or ""
    text = state.shown("text")
    if text is None:
        return ""
    others = (state.firing_with_text if state.firing_count else state.all_with_text) - 1
    return text.value + (f" (and {others} more)" if others > 0 else "")


def alertmanager_link(external_url: str, group_labels: Mapping[str, str]) -> str:
    """A link to the group's alerts in Alertmanager's UI."""
    if not external_url:
        return ""
    matchers = ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return f"{external_url.rstrip('/')}/#/alerts?filter={quote('{' + matchers + '}')}"


def fields_of(state: Derived, group_labels: Mapping[str, str], external_url: str) -> IncidentFields:
    """Title, severity, common labels, summary and links of an incident from the summary of its alerts."""
    links: dict[str, str] = {}
    for kind in ("source", "runbook"):
        shown = state.shown(kind)
        if shown is not None:
            links[kind] = shown.value
    am_link = alertmanager_link(external_url, group_labels)
    if am_link:
        links["alertmanager"] = am_link
    return IncidentFields(
        title=_title(state, group_labels),
        severity=severity_of(state),
        labels=dict(state.labels),
        summary=_summary(state),
        links=links,
        alert_count=state.alert_count,
        firing_count=state.firing_count,
    )


def derive_fields(alerts: Sequence[AlertFacts], group_labels: Mapping[str, str], external_url: str) -> IncidentFields:
    """The fields from every alert at once (alerts in the order they were stored)."""
    views = [AlertView.of(i, a.status, a.labels, a.annotations, a.generator_url) for i, a in enumerate(alerts, 1)]
    return fields_of(full(views), group_labels, external_url)
