"""Escalation policies as values; the step math lives beside them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Target:
    """Whom a step notifies: kind is "user", "schedule", "slack_channel" or "telegram_chat"."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class Step:
    """Notify these targets `after` the incident was triggered (created or reopened)."""

    after: timedelta
    notify: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    """Ordered steps; `repeat` runs them all again that many more times."""

    id: str
    steps: tuple[Step, ...]
    repeat: int = 0
    ack_timeout: timedelta | None = None  # an acknowledgement lapses after this (a route's value wins)
    remind_every: timedelta | None = None  # a reminder while acknowledged


TARGET_KINDS = ("user", "schedule", "slack_channel", "telegram_chat")
# The pause between passes when every step fires at once (no positive gap to take a cadence from).
DEFAULT_REPEAT_GAP = timedelta(minutes=5)

_KIND_LABELS = {"schedule": "on-call of schedule", "slack_channel": "Slack channel", "telegram_chat": "Telegram chat"}


def total_steps(policy: Policy) -> int:
    """How many steps fire in all: the steps times (repeat + 1) passes."""
    return len(policy.steps) * (policy.repeat + 1)


def pass_length(policy: Policy) -> timedelta:
    """How far apart two passes of the policy start: the last step's delay plus the policy's cadence.

    The cadence is the shortest positive gap in the sequence trigger (0), step 1, ..., last step, or
    DEFAULT_REPEAT_GAP when every step fires at 0. So [0m, 15m] repeats at 30m and 45m, a single
    step at 10m fires at 10m, 30m, 50m, and a single step at 0m at 0m, 5m, 10m. Like PagerDuty's
    "repeat this policy", each pass replays the steps as if the incident had been triggered anew
    one cadence after the previous pass's last step.
    """
    afters = sorted({timedelta(0), *(step.after for step in policy.steps)})
    gaps = [later - earlier for earlier, later in zip(afters, afters[1:], strict=False)]
    return afters[-1] + (min(gaps) if gaps else DEFAULT_REPEAT_GAP)


def validate_policy(policy: Policy) -> None:
    """Raise ValueError for a policy that cannot run (no steps, bad delay or repeat, steps unordered, bad target)."""
    if not policy.steps:
        raise ValueError(f"policy {policy.id}: expected at least one step")
    if policy.repeat < 0:
        raise ValueError(f"policy {policy.id}: repeat {policy.repeat}, expected 0 or more")
    for number, step in enumerate(policy.steps, 1):
        if step.after < timedelta(0):
            raise ValueError(f"policy {policy.id} step {number}: negative delay, expected 0 or more")
        if number > 1 and step.after < policy.steps[number - 2].after:
            raise ValueError(f"policy {policy.id} step {number}: fires before step {number - 1}, "
                             "expected delays in increasing order")
        for target in step.notify:
            if target.kind not in TARGET_KINDS:
                raise ValueError(f"policy {policy.id} step {number}: target kind {target.kind!r}, "
                                 f"expected one of {', '.join(TARGET_KINDS)}")


def step_due_at(policy: Policy, triggered_at: datetime, index: int) -> datetime:
    """When step `index` (over all passes) fires: triggered_at + pass * pass_length + that step's delay."""
    if not 0 <= index < total_steps(policy):
        raise IndexError(f"step index {index} out of range 0..{total_steps(policy) - 1} of policy {policy.id}")
    passes, position = divmod(index, len(policy.steps))
    return triggered_at + passes * pass_length(policy) + policy.steps[position].after


def next_step(policy: Policy, triggered_at: datetime, fired_count: int) -> tuple[int, Step, datetime] | None:
    """The step to fire after `fired_count` have fired: (index, step, due_at), or None when all have fired."""
    if fired_count < 0:
        raise ValueError(f"fired count {fired_count}: expected 0 or more")
    if fired_count >= total_steps(policy):
        return None
    return fired_count, policy.steps[fired_count % len(policy.steps)], step_due_at(policy, triggered_at, fired_count)


def step_number(policy: Policy, index: int) -> int:
    """The 1-based number of step `index` within its pass (for "Escalated to step 2")."""
    return index % len(policy.steps) + 1


def describe_targets(targets: Sequence[Target], names: Mapping[str, str] | None = None) -> str:
    """Targets in words: "Carol, on-call of schedule primary and Slack channel C0LEADS" (user names from `names`)."""
    words = [
        (names or {}).get(t.id, t.id) if t.kind == "user" else f"{_KIND_LABELS.get(t.kind, t.kind)} {t.id}"
        for t in targets
    ]
    if len(words) <= 1:
        return "".join(words) or "nobody"
    return f"{', '.join(words[:-1])} and {words[-1]}"


def resumed_trigger(policy: Policy, fired_count: int, at: datetime) -> datetime:
    """A triggered_at for an escalation resumed at `at` (a reopening): the steps that fired stay fired, and
    the next one comes as long after `at` as it was planned after the last one that fired."""
    if fired_count <= 0:
        return at
    last = min(fired_count, total_steps(policy)) - 1
    return at - (step_due_at(policy, at, last) - at)
