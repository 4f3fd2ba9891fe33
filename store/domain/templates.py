"""Response templates: a named way to open an incident, with a checklist of steps and runbook links (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_CHECKLIST = 50
MAX_STEP = 300


@dataclass(frozen=True, slots=True)
class Template:
    """One entry of the config's `templates`."""

    id: str
    title: str
    severity: str = "warning"
    description: str = ""
    checklist: tuple[str, ...] = ()
    runbooks: tuple[str, ...] = ()
    route: str | None = None  # the route whose channels, escalation and SLA an incident opened from it takes
    escalation: str | None = None  # a policy instead of the route's

    def summary(self) -> str:
        """The timeline line of applying it."""
        steps = len(self.checklist)
        return f"Response template {self.id} applied: {steps} checklist step{'s' if steps != 1 else ''}"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One step of an incident's checklist, numbered from 1."""

    index: int
    text: str
    done_at: datetime | None = None
    done_by: str | None = None

    @property
    def done(self) -> bool:
        """True when checked."""
        return self.done_at is not None


def checklist_message(item_text: str, index: int, done: bool, who: str) -> str:
    """The timeline line of checking or unchecking a step."""
    verb = "done" if done else "reopened"
    return f"Checklist step {index} {verb} by {who}: {item_text}"
