"""Escalation policies as values; the step math lives beside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


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
