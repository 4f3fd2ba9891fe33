"""What an incident derives from its alerts, kept up to date change by change.

An incident's title, severity, common labels, summary and links depend on all of its alerts. Reading them
all on every webhook makes one alert cost as much as the incident is large, so the incident keeps a small
summary of its alerts (`Derived`): counts per severity, the labels all of them share, whether they share
a `summary` and a `description`, the first few alert names, and the alerts its summary and links are
taken from (the oldest firing alert having each, else the oldest having it). `apply` folds the changes
of one transaction into it; what it cannot fold without looking at other alerts (a picked alert stopped
firing or left, an alert left the incident, an annotation may now be shared by all) is named in `Needs`,
for bounded lookups. `full` computes the same summary from every alert: the reference that `apply` must
always agree with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from store.domain.incident import DEFAULT_SEVERITY, SEVERITIES, normalize_severity

SHARED_KEYS = ("summary", "description")  # the annotations whose shared value the title and summary use
PICKS = ("text", "source", "runbook")  # what the summary and the links take from one alert
NAMES_KEPT = 3  # a title names at most this many alert names


@dataclass(frozen=True, slots=True)
class AlertView:
    """What one stored alert contributes to its incident's fields."""

    id: int
    firing: bool
    severity: str
    labels: Mapping[str, str]
    summary: str
    description: str
    generator_url: str
    runbook: str

    @classmethod
    def of(
        cls, id: int, status: str, labels: Mapping[str, str], annotations: Mapping[str, str], generator_url: str
    ) -> AlertView:
        """From an alert's stored columns."""
        return cls(
            id=id,
            firing=status == "firing",
            severity=normalize_severity(labels.get("severity")),
            labels=labels,
            summary=annotations.get("summary", ""),
            description=annotations.get("description", ""),
            generator_url=generator_url,
            runbook=annotations.get("runbook_url", ""),
        )

    def shared(self, key: str) -> str:
        """The value of one of SHARED_KEYS."""
        return self.summary if key == "summary" else self.description

    def value(self, kind: str) -> str:
        """What a pick of this kind takes from it ('' when it has none)."""
        if kind == "text":
            return self.summary or self.description
        return self.generator_url if kind == "source" else self.runbook


@dataclass(frozen=True, slots=True)
class Rep:
    """The alert a pick takes its value from: the oldest firing alert having one, else the oldest having one."""

    id: int
    firing: bool
    value: str

    @classmethod
    def of(cls, alert: AlertView, kind: str) -> Rep:
        """This alert as the pick of `kind`."""
        return cls(alert.id, alert.firing, alert.value(kind))

    def outranks(self, other: Rep | None) -> bool:
        """True when this alert should be picked rather than `other` (firing first, then oldest)."""
        return other is None or (self.firing, -self.id) > (other.firing, -other.id)


def _zeros() -> tuple[int, ...]:
    return (0,) * len(SEVERITIES)


@dataclass(frozen=True, slots=True)
class Derived:
    """The summary of an incident's alerts from which its fields follow."""

    alert_count: int = 0
    firing_count: int = 0
    firing_by_severity: tuple[int, ...] = field(default_factory=_zeros)  # in SEVERITIES order
    all_by_severity: tuple[int, ...] = field(default_factory=_zeros)
    labels: Mapping[str, str] = field(default_factory=dict)  # the label pairs every alert has
    shared: Mapping[str, str | None] = field(default_factory=dict)  # SHARED_KEYS -> the value all share, or None
    names: tuple[str, ...] = ()  # the first NAMES_KEPT distinct alertnames, sorted
    picks: Mapping[str, Rep | None] = field(default_factory=dict)  # PICKS -> the alert it takes from
    firing_with_text: int = 0  # firing alerts with a summary or description
    all_with_text: int = 0

    def shown(self, kind: str) -> Rep | None:
        """The pick, if it may be shown: while alerts fire, only a firing alert's value is."""
        pick = self.picks.get(kind)
        return pick if pick is not None and (pick.firing or self.firing_count == 0) else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form, stored on the incident."""
        return {
            "firing_by_severity": list(self.firing_by_severity),
            "all_by_severity": list(self.all_by_severity),
            "shared": dict(self.shared),
            "names": list(self.names),
            "picks": {k: None if r is None else [r.id, r.firing, r.value] for k, r in sorted(self.picks.items())},
            "with_text": [self.firing_with_text, self.all_with_text],
        }

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], alert_count: int, firing_count: int, labels: Mapping[str, str]
    ) -> Derived:
        """Back from to_json and the incident's own count and label columns."""
        picks = {k: None if r is None else Rep(int(r[0]), bool(r[1]), r[2]) for k, r in data["picks"].items()}
        return cls(
            alert_count=alert_count,
            firing_count=firing_count,
            firing_by_severity=tuple(data["firing_by_severity"]),
            all_by_severity=tuple(data["all_by_severity"]),
            labels=dict(labels),
            shared=dict(data["shared"]),
            names=tuple(data["names"]),
            picks=picks,
            firing_with_text=int(data["with_text"][0]),
            all_with_text=int(data["with_text"][1]),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One alert's contribution to one incident before and after a transaction (None: not in it)."""

    before: AlertView | None
    after: AlertView | None


@dataclass(slots=True)
class Needs:
    """Lookups `apply` could not do without reading other alerts."""

    picks: set[str] = field(default_factory=set)  # picks whose alert stopped firing, lost its value or left
    recount: bool = False  # an alert left: labels, names and shared annotations need every alert again
    shared: set[str] = field(default_factory=set)  # SHARED_KEYS that every alert may now share

    def __bool__(self) -> bool:
        return bool(self.picks) or self.recount or bool(self.shared)


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(names) - {""})[:NAMES_KEPT])


def _bump(counts: tuple[int, ...], severity: str, by: int) -> tuple[int, ...]:
    index = SEVERITIES.index(severity)
    return counts[:index] + (counts[index] + by,) + counts[index + 1:]


def _counted(state: Derived, alert: AlertView, by: int) -> Derived:
    """The counts with one alert added (by=1) or taken away (by=-1)."""
    firing = by if alert.firing else 0
    text = by if alert.value("text") else 0
    return replace(
        state,
        firing_with_text=state.firing_with_text + (text if alert.firing else 0),
        all_with_text=state.all_with_text + text,
        alert_count=state.alert_count + by,
        firing_count=state.firing_count + firing,
        all_by_severity=_bump(state.all_by_severity, alert.severity, by),
        firing_by_severity=_bump(state.firing_by_severity, alert.severity, firing),
    )


def _added(state: Derived, alert: AlertView) -> Derived:
    """An alert joined: the shared sets shrink to what it has too (or start from it)."""
    if state.alert_count == 0:
        labels, shared = dict(alert.labels), {k: alert.shared(k) for k in SHARED_KEYS}
    else:
        labels = {k: v for k, v in state.labels.items() if alert.labels.get(k) == v}
        shared = {k: (v if v == alert.shared(k) else None) for k, v in state.shared.items()}
    names = _names((*state.names, alert.labels.get("alertname", "")))
    return replace(_counted(state, alert, 1), labels=labels, shared=shared, names=names)


def _annotations_changed(state: Derived, before: AlertView, after: AlertView, needs: Needs) -> Derived:
    """An alert's shared annotations changed in place: a shared value may end, or (rarely) begin."""
    shared = dict(state.shared)
    for key in SHARED_KEYS:
        old, new = before.shared(key), after.shared(key)
        if old == new:
            continue
        if state.alert_count == 1:
            shared[key] = new
        elif shared.get(key) is not None:
            shared[key] = None  # it was shared, so `old` was it; this alert now differs
        else:
            needs.shared.add(key)  # the others may all have `new`: only they can tell
    return replace(state, shared=shared)


def _picked(state: Derived, change: Change, needs: Needs) -> Derived:
    """Keep each pick: a better candidate takes over; a pick that can no longer serve is looked up again."""
    picks = dict(state.picks)
    before, after = change.before, change.after
    for kind in PICKS:
        if kind in needs.picks:
            continue
        pick = picks.get(kind)
        if before is not None and pick is not None and before.id == pick.id:
            if after is None or not after.value(kind) or (before.firing and not after.firing):
                needs.picks.add(kind)  # the next one can only be found among the other alerts
                continue
            pick = Rep.of(after, kind)
        if after is not None and after.value(kind) and Rep.of(after, kind).outranks(pick):
            pick = Rep.of(after, kind)
        picks[kind] = pick
    return replace(state, picks=picks)


def apply(state: Derived, changes: Sequence[Change]) -> tuple[Derived, Needs]:
    """Fold one transaction's alert changes into the incident's summary; what still needs a lookup."""
    needs = Needs()
    for change in changes:
        before, after = change.before, change.after
        if before is not None and after is not None:
            state = _counted(_counted(state, before, -1), after, 1)
            state = _annotations_changed(state, before, after, needs)
            needs.recount = needs.recount or before.labels != after.labels
        elif before is not None:
            state = _counted(state, before, -1)
            needs.recount = True
        elif after is not None:
            state = _added(state, after)
        state = _picked(state, change, needs)
    return state, needs


def with_lookups(
    state: Derived,
    needs: Needs,
    *,
    everything: Derived | None = None,
    picked: Mapping[str, AlertView | None] | None = None,
    shared: Mapping[str, str | None] | None = None,
) -> Derived:
    """The summary once the lookups `needs` asked for are done: `everything` is `full` of every alert (when
    needs.recount), `picked` the alert found for each kind in needs.picks, `shared` each key in needs.shared."""
    if needs.recount:
        assert everything is not None, "an alert left: every alert is needed"
        return replace(state, labels=everything.labels, shared=everything.shared, names=everything.names,
                       picks=everything.picks)
    picks = dict(state.picks)
    for kind in needs.picks:
        alert = (picked or {}).get(kind)
        picks[kind] = Rep.of(alert, kind) if alert is not None else None
    values = dict(state.shared)
    values.update({key: (shared or {}).get(key) for key in needs.shared})
    return replace(state, picks=picks, shared=values)


def pick(alerts: Sequence[AlertView], kind: str) -> Rep | None:
    """The oldest firing alert having a value of `kind`, else the oldest having one (None: none has)."""
    best: Rep | None = None
    for alert in alerts:
        if alert.value(kind):
            candidate = Rep.of(alert, kind)
            if candidate.outranks(best):
                best = candidate
    return best


def shared_value(alerts: Sequence[AlertView], key: str) -> str | None:
    """The value of `key` every alert has, or None when they differ (or there are none)."""
    values = {a.shared(key) for a in alerts}
    return values.pop() if len(values) == 1 else None


def common_labels(alerts: Sequence[AlertView]) -> dict[str, str]:
    """The label pairs present, with the same value, in every alert."""
    if not alerts:
        return {}
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
        if not common:
            break
    return common


def full(alerts: Sequence[AlertView]) -> Derived:
    """The summary computed from every alert: what `apply` keeps without reading them."""
    state = Derived()
    for alert in alerts:
        state = _counted(state, alert, 1)
    return replace(
        state,
        labels=common_labels(alerts),
        shared={k: shared_value(alerts, k) for k in SHARED_KEYS},
        names=_names(a.labels.get("alertname", "") for a in alerts),
        picks={kind: pick(alerts, kind) for kind in PICKS},
    )


def highest(counts: tuple[int, ...]) -> str | None:
    """The highest severity with a non-zero count, if any."""
    return next((s for s, n in zip(SEVERITIES, counts, strict=True) if n > 0), None)


def severity_of(state: Derived) -> str:
    """The highest severity among firing alerts, else among all; warning without alerts."""
    return highest(state.firing_by_severity) or highest(state.all_by_severity) or DEFAULT_SEVERITY
