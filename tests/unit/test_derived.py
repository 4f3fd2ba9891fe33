"""An incident's alert summary kept change by change always equals the one computed from every alert."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from store.domain.derived import (
    SHARED_KEYS,
    AlertView,
    Change,
    Derived,
    apply,
    full,
    pick,
    shared_value,
    with_lookups,
)
from store.domain.grouping import fields_of

SEVERITIES = st.sampled_from(["critical", "error", "warning", "info", "page", None])
TEXTS = st.sampled_from(["", "disk full", "disk almost full", "cpu high"])
URLS = st.sampled_from(["", "http://prometheus/graph?1", "http://prometheus/graph?2"])


@st.composite
def alert_content(draw: st.DrawFn, alert_id: int) -> AlertView:
    labels = {"alertname": draw(st.sampled_from(["Disk", "Cpu", "Mem", "Net", ""])), "job": "node"}
    if draw(st.booleans()):
        labels["instance"] = draw(st.sampled_from(["a", "b", "c"]))
    severity = draw(SEVERITIES)
    if severity is not None:
        labels["severity"] = severity
    annotations = {"summary": draw(TEXTS), "description": draw(TEXTS), "runbook_url": draw(URLS)}
    annotations = {k: v for k, v in annotations.items() if v}
    return AlertView.of(alert_id, draw(st.sampled_from(["firing", "resolved"])), labels, annotations, draw(URLS))


OPS = st.sampled_from(["add", "add", "resolve", "refire", "annotate", "leave", "repeat"])


def settle(state: Derived, needs, alerts: list[AlertView]) -> Derived:
    """What the store's lookups find, from the alerts as they are after the transaction."""
    return with_lookups(
        state,
        needs,
        everything=full(alerts) if needs.recount else None,
        picked={k: _pick_view(alerts, k) for k in needs.picks},
        shared={k: shared_value(alerts, k) for k in needs.shared},
    )


def _pick_view(alerts: list[AlertView], kind: str) -> AlertView | None:
    chosen = pick(alerts, kind)
    return None if chosen is None else next(a for a in alerts if a.id == chosen.id)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_apply_then_lookups_equals_full_recomputation(data: st.DataObject) -> None:
    alerts: dict[int, AlertView] = {}
    state = Derived()
    next_id = 1
    for _ in range(data.draw(st.integers(1, 8), label="transactions")):
        changes: list[Change] = []
        for op in data.draw(st.lists(OPS, min_size=1, max_size=6), label="ops"):
            if op == "add" or not alerts:
                after = data.draw(alert_content(next_id))
                next_id += 1
                alerts[after.id] = after
                changes.append(Change(None, after))
                continue
            alert_id = data.draw(st.sampled_from(sorted(alerts)))
            before = alerts[alert_id]
            if op == "leave":
                del alerts[alert_id]
                changes.append(Change(before, None))
                continue
            if op == "resolve":
                after = replace(before, firing=False)
            elif op == "refire":
                after = replace(before, firing=True)
            elif op == "annotate":
                after = replace(before, summary=data.draw(TEXTS), description=data.draw(TEXTS),
                                runbook=data.draw(URLS))
            else:
                after = before
            alerts[alert_id] = after
            if after != before:
                changes.append(Change(before, after))
        state, needs = apply(state, changes)
        state = settle(state, needs, list(alerts.values()))
        expected = full(list(alerts.values()))
        if alerts:
            assert state == expected
        else:
            assert (state.alert_count, state.firing_count, state.labels) == (0, 0, {})
        for labels in ({}, {"alertname": "Disk"}):
            assert fields_of(state, labels, "http://am") == fields_of(expected, labels, "http://am")


def test_a_new_alert_needs_no_lookup() -> None:
    state = full([AlertView.of(i, "firing", {"alertname": "Disk", "instance": str(i)}, {"summary": "s"}, "u")
                  for i in range(1, 1001)])
    added = AlertView.of(1001, "firing", {"alertname": "Disk", "instance": "x"}, {"summary": "s"}, "u")
    after, needs = apply(state, [Change(None, added)])
    assert not needs
    assert after.alert_count == 1001 and after.firing_count == 1001
    assert after.labels == {"alertname": "Disk"} and after.shared["summary"] == "s"


def test_resolving_the_picked_alert_asks_for_the_next_one() -> None:
    first = AlertView.of(1, "firing", {"alertname": "A"}, {"summary": "one"}, "u1")
    second = AlertView.of(2, "firing", {"alertname": "A"}, {"summary": "two"}, "u2")
    state = full([first, second])
    _, needs = apply(state, [Change(first, replace(first, firing=False))])
    assert needs.picks == {"text", "source"} and not needs.recount and not needs.shared  # it had no runbook


def test_changing_a_summary_of_one_in_many_asks_whether_all_now_share_it() -> None:
    alerts = [AlertView.of(i, "firing", {"alertname": "A"}, {"summary": f"s{i}"}, "") for i in (1, 2)]
    _, needs = apply(full(alerts), [Change(alerts[0], replace(alerts[0], summary="s2"))])
    assert needs.shared == {"summary"} and set(SHARED_KEYS) >= needs.shared
