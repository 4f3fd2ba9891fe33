"""Grouping keys and the incident fields derived from its alerts (title, severity, labels, links)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from store.domain.alerts import AlertSignal
from store.domain.incident import highest_severity
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
    """What the incident's derived fields need to know of one stored alert."""

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


def _title(alerts: Sequence[AlertFacts], common_annotations: Mapping[str, str], group_labels: Mapping[str, str]) -> str:
    summary = common_annotations.get("summary", "").strip()
    if summary:
        return summary[:300]
    names = sorted({a.labels.get("alertname", "") for a in alerts} - {""})
    alertname = group_labels.get("alertname") or (names[0] if len(names) == 1 else ", ".join(names[:3]))
    others = [v for k, v in sorted(group_labels.items()) if k != "alertname" and v]
    title = alertname or "Alert"
    if others:
        title += " (" + ", ".join(others) + ")"
    return title[:300]


def _summary(alerts: Sequence[AlertFacts], common_annotations: Mapping[str, str]) -> str:
    for key in ("summary", "description"):
        if common_annotations.get(key):
            return common_annotations[key]
    firing = [a for a in alerts if a.status == "firing"] or list(alerts)
    texts = [a.annotations.get("summary") or a.annotations.get("description") or "" for a in firing]
    texts = [t for t in texts if t]
    if not texts:
        return ""
    return texts[0] + (f" (and {len(texts) - 1} more)" if len(texts) > 1 else "")


def alertmanager_link(external_url: str, group_labels: Mapping[str, str]) -> str:
    """A link to the group's alerts in Alertmanager's UI."""
    if not external_url:
        return ""
    matchers = ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return f"{external_url.rstrip('/')}/#/alerts?filter={quote('{' + matchers + '}')}"


def derive_fields(alerts: Sequence[AlertFacts], group_labels: Mapping[str, str], external_url: str) -> IncidentFields:
    """Title, severity, common labels, summary and links of an incident from all of its alerts."""
    common_annotations = common_items([a.annotations for a in alerts])
    firing = [a for a in alerts if a.status == "firing"]
    severity_source = firing or list(alerts)
    links: dict[str, str] = {}
    generator = next((a.generator_url for a in severity_source if a.generator_url), "")
    if generator:
        links["source"] = generator
    runbook = next((a.annotations["runbook_url"] for a in severity_source if a.annotations.get("runbook_url")), "")
    if runbook:
        links["runbook"] = runbook
    am_link = alertmanager_link(external_url, group_labels)
    if am_link:
        links["alertmanager"] = am_link
    return IncidentFields(
        title=_title(alerts, common_annotations, group_labels),
        severity=highest_severity([a.labels.get("severity") for a in severity_source]),
        labels=common_items([a.labels for a in alerts]),
        summary=_summary(alerts, common_annotations),
        links=links,
        alert_count=len(alerts),
        firing_count=len(firing),
    )
