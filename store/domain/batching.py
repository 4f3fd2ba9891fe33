"""How the alerts of one or more batches fall into incident groups before anything is stored (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from store.domain.alerts import ALERTMANAGER, AlertBatch, AlertSignal, Origin
from store.domain.delivery import channels_for
from store.domain.grouping import group_key_for, group_labels_for
from store.domain.routing import Route, RouteTable

Identity = tuple[str, datetime]  # an alert instance: Alertmanager's fingerprint and its startsAt instant


def identity(alert: AlertSignal) -> Identity:
    """The alert instance's identity."""
    return alert.fingerprint, alert.starts_at


@dataclass(slots=True)
class Item:
    """One alert instance of the transaction, and the batches that carried it (the last one's copy wins)."""

    alert: AlertSignal
    batches: list[int]
    superseded: bool = False  # an older instance of a fingerprint whose newer instance came in the same body
    origin: Origin = ALERTMANAGER  # who sent the copy kept


@dataclass(slots=True)
class Group:
    """The alerts of one incident group, with what its incident is opened with."""

    key: str
    route: Route
    group_labels: dict[str, str]
    channels: dict[str, Any]
    external_url: str
    items: dict[Identity, Item] = field(default_factory=dict)
    firing: bool = False  # any of its alerts fires (then the group needs an open incident); set by plan_groups
    origin: Origin = ALERTMANAGER  # who sent the batch that made the group: the incident is opened in its name


def _one_per_fingerprint(alerts: Sequence[AlertSignal]) -> list[tuple[AlertSignal, bool]]:
    """The body's alerts; an older firing instance of a fingerprint that also has a newer one ended when
    the next one started (Alertmanager holds one alert per fingerprint). Flags those superseded."""
    if len({a.fingerprint for a in alerts}) == len(alerts):
        return [(alert, False) for alert in alerts]  # as usual: one instance of each fingerprint
    starts: dict[str, list[datetime]] = {}
    for alert in alerts:
        starts.setdefault(alert.fingerprint, []).append(alert.starts_at)
    out = []
    for alert in alerts:
        later = [s for s in starts[alert.fingerprint] if s > alert.starts_at]
        if later and alert.firing:
            out.append((replace(alert, status="resolved", ends_at=min(later)), True))
        else:
            out.append((alert, False))
    return out


def plan_groups(batches: Sequence[AlertBatch], routes: RouteTable) -> dict[str, Group]:
    """The groups the batches' alerts belong to; a repeated instance keeps the last batch's copy."""
    groups: dict[str, Group] = {}
    for index, batch in enumerate(batches):
        for alert, superseded in _one_per_fingerprint(batch.alerts):
            route = routes.route_for(alert.labels)
            key = group_key_for(route, alert, batch.group_key)
            group = groups.get(key)
            if group is None:
                labels = group_labels_for(route, alert, batch.group_labels)
                channels = channels_for(route, routes.default, alert.labels, routes.webhooks)
                group = groups[key] = Group(key, route, labels, channels, batch.external_url, origin=batch.origin)
            elif batch.external_url:
                group.external_url = batch.external_url
            ident = alert.fingerprint, alert.starts_at  # identity(alert), inlined: this runs for every alert
            item = group.items.get(ident)
            if item is None:
                group.items[ident] = Item(alert, [index], superseded, batch.origin)
            else:
                item.alert, item.superseded, item.origin = alert, superseded, batch.origin
                if index not in item.batches:
                    item.batches.append(index)
    for group in groups.values():
        group.items = dict(sorted(group.items.items()))
        group.firing = any(item.alert.firing for item in group.items.values())
    return groups
