"""Escalation step math: when each step of each pass is due, and which step comes next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.domain.escalation import (
    Policy,
    Step,
    Target,
    describe_targets,
    next_step,
    pass_length,
    step_due_at,
    step_number,
    total_steps,
    validate_policy,
)

T0 = datetime(2026, 3, 29, 0, 50, tzinfo=UTC)
M = timedelta(minutes=1)
ONCALL = Target("schedule", "primary")
CAROL = Target("user", "carol")
LEADS = Target("slack_channel", "C0LEADS")


def policy(*afters: int, repeat: int = 0) -> Policy:
    return Policy("default", tuple(Step(after * M, (ONCALL,)) for after in afters), repeat)


def due_minutes(p: Policy) -> list[float]:
    return [(step_due_at(p, T0, i) - T0) / M for i in range(total_steps(p))]


def test_contract_example_repeats_after_the_last_step_plus_the_cadence() -> None:
    p = Policy("default", (Step(0 * M, (ONCALL,)), Step(15 * M, (CAROL, LEADS))), repeat=1)
    assert pass_length(p) == 30 * M
    assert due_minutes(p) == [0, 15, 30, 45]


@pytest.mark.parametrize(
    ("afters", "repeat", "expected"),
    [
        ((0,), 0, [0]),
        ((0,), 2, [0, 5, 10]),  # all at once: DEFAULT_REPEAT_GAP between passes
        ((10,), 2, [10, 30, 50]),  # cadence 10 (trigger -> step): passes 20 apart
        ((5, 15), 1, [5, 15, 25, 35]),  # cadence 5: next pass starts at 20
        ((0, 0, 30), 1, [0, 0, 30, 60, 60, 90]),  # equal delays do not make a zero cadence
        ((0, 10, 25, 60), 0, [0, 10, 25, 60]),
    ],
)
def test_due_times(afters: tuple[int, ...], repeat: int, expected: list[int]) -> None:
    assert due_minutes(policy(*afters, repeat=repeat)) == expected


def test_next_step_walks_all_passes_then_stops() -> None:
    p = Policy("default", (Step(0 * M, (ONCALL,)), Step(15 * M, (CAROL,))), repeat=1)
    seen = []
    fired = 0
    while (nxt := next_step(p, T0, fired)) is not None:
        index, step, due = nxt
        seen.append((index, step_number(p, index), step.notify, (due - T0) / M))
        fired += 1
    assert seen == [(0, 1, (ONCALL,), 0), (1, 2, (CAROL,), 15), (2, 1, (ONCALL,), 30), (3, 2, (CAROL,), 45)]
    assert next_step(p, T0, 99) is None
    assert next_step(Policy("empty", ()), T0, 0) is None


def test_out_of_range_is_refused() -> None:
    p = policy(0, 15)
    with pytest.raises(IndexError, match="step index 2 out of range 0..1"):
        step_due_at(p, T0, 2)
    with pytest.raises(IndexError):
        step_due_at(p, T0, -1)
    with pytest.raises(ValueError, match="fired count -1"):
        next_step(p, T0, -1)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (Policy("p", ()), "expected at least one step"),
        (Policy("p", (Step(0 * M, (ONCALL,)),), repeat=-1), "repeat -1, expected 0 or more"),
        (Policy("p", (Step(-M, (ONCALL,)),)), "step 1: negative delay"),
        (Policy("p", (Step(M, (Target("pager", "x"),)),)), "step 1: target kind 'pager'"),
        (Policy("p", (Step(5 * M, (ONCALL,)), Step(M, (CAROL,)))), "step 2: fires before step 1"),
    ],
)
def test_validate_policy(bad: Policy, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_policy(bad)
    validate_policy(policy(0, 15, repeat=3))


def test_describe_targets() -> None:
    assert describe_targets([CAROL], {"carol": "Carol"}) == "Carol"
    assert describe_targets([ONCALL, CAROL, LEADS], {"carol": "Carol"}) == (
        "on-call of schedule primary, Carol and Slack channel C0LEADS"
    )
    assert describe_targets([Target("telegram_chat", "-1001"), CAROL]) == "Telegram chat -1001 and carol"
    assert describe_targets([]) == "nobody"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 120), min_size=1, max_size=5).map(sorted), st.integers(0, 3))
def test_passes_replay_the_steps_in_order(afters: list[int], repeat: int) -> None:
    p = policy(*afters, repeat=repeat)
    dues = [step_due_at(p, T0, i) for i in range(total_steps(p))]
    assert dues == sorted(dues), "sorted steps fire in index order"
    n = len(afters)
    for k in range(1, repeat + 1):
        # each pass is the first one shifted by the pass length, which starts strictly after the previous last step
        assert [d - k * pass_length(p) for d in dues[k * n : (k + 1) * n]] == dues[:n]
        assert dues[k * n] > dues[k * n - 1]
    assert dues[0] == T0 + afters[0] * M
