"""SLA targets and where an incident stands against them (pure: no I/O).

The clock of both targets starts when the incident was (re)triggered, as MTTA and MTTR do. The first
response is the acknowledgement, or the resolve when nobody acknowledged first. Durations are elapsed
time between aware instants, so a target that crosses a daylight-saving change is neither shortened nor
stretched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

ACK = "ack"
RESOLVE = "resolve"
KINDS = (ACK, RESOLVE)
ESCALATE = "escalate"
ON_BREACH = (ESCALATE,)


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """Time to acknowledge and to resolve (each None: no target), and what a breach does besides the record."""

    ack: timedelta | None = None
    resolve: timedelta | None = None
    on_breach: str | None = None  # "escalate" or None

    def of(self, kind: str) -> timedelta | None:
        """The target of one kind ("ack" or "resolve")."""
        return self.ack if kind == ACK else self.resolve

    @property
    def empty(self) -> bool:
        """True when it sets no target."""
        return self.ack is None and self.resolve is None


NO_TARGET = SlaTarget()


def combine(route: SlaTarget | None, severity: SlaTarget | None) -> SlaTarget:
    """A route's target wins over its severity's, kind by kind (and for on_breach)."""
    route = route or NO_TARGET
    severity = severity or NO_TARGET
    return SlaTarget(
        ack=route.ack if route.ack is not None else severity.ack,
        resolve=route.resolve if route.resolve is not None else severity.resolve,
        on_breach=route.on_breach or severity.on_breach,
    )


def target_for(
    route_targets: Mapping[str, SlaTarget], severity_targets: Mapping[str, SlaTarget], route_id: str, severity: str
) -> SlaTarget:
    """The incident's target from its route's `sla` and its severity's (top-level `sla`)."""
    return combine(route_targets.get(route_id), severity_targets.get(severity))


@dataclass(frozen=True, slots=True)
class Clock:
    """The instants an SLA is measured from: (re)trigger, acknowledgement, resolve."""

    triggered_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None

    def answered_at(self, kind: str) -> datetime | None:
        """When the kind's goal was reached: acknowledged (or resolved first) for ack, resolved for resolve."""
        if kind == ACK:
            return self.acknowledged_at or self.resolved_at
        return self.resolved_at


@dataclass(frozen=True, slots=True)
class SlaStatus:
    """Due times of one incident and the kinds breached so far."""

    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    breached: tuple[str, ...]

    def due_at(self, kind: str) -> datetime | None:
        """The due time of one kind."""
        return self.ack_due_at if kind == ACK else self.resolve_due_at


def due_at(clock: Clock, target: SlaTarget, kind: str) -> datetime | None:
    """When the kind falls due (None without a target)."""
    limit = target.of(kind)
    return None if limit is None else clock.triggered_at + limit


def breached(clock: Clock, target: SlaTarget, kind: str, now: datetime) -> bool:
    """True when the goal was reached after its due time, or not reached and the due time has passed."""
    due = due_at(clock, target, kind)
    if due is None:
        return False
    answered = clock.answered_at(kind)
    return answered > due if answered is not None else now >= due


def status(clock: Clock, target: SlaTarget, now: datetime) -> SlaStatus:
    """Due times and breaches of an incident at `now`."""
    return SlaStatus(
        ack_due_at=due_at(clock, target, ACK),
        resolve_due_at=due_at(clock, target, RESOLVE),
        breached=tuple(kind for kind in KINDS if breached(clock, target, kind, now)),
    )


def time_left(clock: Clock, target: SlaTarget, kind: str, now: datetime) -> timedelta | None:
    """Time until the kind falls due while its goal is still open (negative once overdue); None otherwise."""
    due = due_at(clock, target, kind)
    if due is None or clock.answered_at(kind) is not None:
        return None
    return due - now


def due_now(clock: Clock, target: SlaTarget, now: datetime, recorded: set[str]) -> list[str]:
    """The kinds whose breach happens by `now` and has not been recorded yet for this trigger."""
    return [
        kind for kind in KINDS
        if kind not in recorded and clock.answered_at(kind) is None and breached(clock, target, kind, now)
    ]


def describe(limit: timedelta) -> str:
    """A target as people write it: 5m, 4h, 1h30m, 2d."""
    seconds = int(limit.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def breach_message(kind: str, limit: timedelta) -> str:
    """The timeline line of a breach."""
    what = "acknowledged" if kind == ACK else "resolved"
    return f"SLA breached: not {what} within {describe(limit)}"
