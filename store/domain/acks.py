"""Acknowledgements that lapse, and reminders while one holds (pure).

A route or its escalation policy may set `ack_timeout` (the route's wins): an incident still acknowledged
that long after the acknowledgement returns to triggered. A snooze is an acknowledgement with its own end.
`remind_every` posts a reminder while the incident stays acknowledged. The scheduler acts on what is due
when it looks, once: after a long pause it lapses once or reminds once, never once per missed interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from store.domain.config_fields import format_span
from store.domain.escalation import Policy
from store.domain.routing import Route

LAPSE, REMIND = "lapse", "remind"


@dataclass(frozen=True, slots=True)
class AckRules:
    """How long an acknowledgement holds and how often it is recalled (None: never)."""

    ack_timeout: timedelta | None = None
    remind_every: timedelta | None = None


def rules_for(route: Route, policy: Policy | None) -> AckRules:
    """The route's ack_timeout and remind_every, each falling back to its escalation policy's."""
    def pick(name: str) -> timedelta | None:
        value = getattr(route, name)
        return value if value is not None else (getattr(policy, name) if policy is not None else None)

    return AckRules(pick("ack_timeout"), pick("remind_every"))


@dataclass(frozen=True, slots=True)
class AckTimers:
    """When an acknowledgement lapses and when the next reminder is due (None: never)."""

    lapses_at: datetime | None = None
    next_reminder_at: datetime | None = None

    @property
    def due_at(self) -> datetime | None:
        """The earliest of the two, when the scheduler must look again."""
        times = [t for t in (self.lapses_at, self.next_reminder_at) if t is not None]
        return min(times) if times else None


def _before_lapse(reminder: datetime | None, lapses_at: datetime | None) -> datetime | None:
    """A reminder is pointless at or after the lapse, which says more."""
    return reminder if reminder is None or lapses_at is None or reminder < lapses_at else None


def plan(acknowledged_at: datetime, rules: AckRules, snoozed_until: datetime | None = None) -> AckTimers:
    """The timers of an acknowledgement made at `acknowledged_at` (a snooze lapses at `snoozed_until`)."""
    if snoozed_until is not None:
        lapses_at: datetime | None = snoozed_until
    else:
        lapses_at = acknowledged_at + rules.ack_timeout if rules.ack_timeout else None
    reminder = acknowledged_at + rules.remind_every if rules.remind_every else None
    return AckTimers(lapses_at, _before_lapse(reminder, lapses_at))


def due(timers: AckTimers, now: datetime) -> str | None:
    """What to do at `now`: LAPSE (it wins over a reminder due at the same time), REMIND, or nothing."""
    if timers.lapses_at is not None and timers.lapses_at <= now:
        return LAPSE
    if timers.next_reminder_at is not None and timers.next_reminder_at <= now:
        return REMIND
    return None


def after_reminder(timers: AckTimers, now: datetime, every: timedelta | None) -> AckTimers:
    """The timers once a reminder was posted at `now`: the next one `every` from now, not from when it was due."""
    following = now + every if every else None
    return AckTimers(timers.lapses_at, _before_lapse(following, timers.lapses_at))


def lapse_message(acknowledged_by: str | None, acknowledged_at: datetime, now: datetime, snoozed: bool) -> str:
    """'Acknowledgement by alice lapsed after 30m: triggered again' (or the snooze's end)."""
    who = acknowledged_by or "unknown"
    if snoozed:
        return f"Snooze by {who} ended: triggered again"
    return f"Acknowledgement by {who} lapsed after {format_span(now - acknowledged_at)}: triggered again"


def reminder_message(acknowledged_by: str | None, acknowledged_at: datetime, now: datetime) -> str:
    """'Reminder: still acknowledged by alice, for 1h'."""
    return f"Reminder: still acknowledged by {acknowledged_by or 'unknown'}, for {format_span(now - acknowledged_at)}"
