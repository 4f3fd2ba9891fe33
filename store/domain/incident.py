"""Incident statuses, severities, action sources and the transitions between statuses."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an incident stands."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ActionSource(StrEnum):
    """The channel through which a change was made."""

    ALERTMANAGER = "alertmanager"
    SLACK = "slack"
    TELEGRAM = "telegram"
    DISCORD = "discord"
    MATTERMOST = "mattermost"
    EMAIL = "email"
    API = "api"
    WEB = "web"
    SCHEDULER = "scheduler"
    CLI = "cli"


SEVERITY_RANK: dict[str, int] = {"critical": 4, "error": 3, "warning": 2, "info": 1}
SEVERITIES: tuple[str, ...] = tuple(sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__, reverse=True))
DEFAULT_SEVERITY = "warning"


class InvalidTransition(Exception):
    """An action that makes no sense in the incident's current state."""

    def __init__(self, incident_id: int, action: str, status: Status, detail: str = "") -> None:
        self.incident_id = incident_id
        self.action = action
        self.status = status
        message = f"cannot {action} incident #{incident_id}: it is {status}"
        super().__init__(message + (f" ({detail})" if detail else ""))


MAX_ID = 2**63 - 1  # PostgreSQL's bigint


def incident_number(text: object) -> int | None:
    """'42' or '#42' to 42, as every chat, page and command takes an incident number; None for anything else
    (only ASCII digits, since "¹".isdigit() is true and int("¹") fails; within bigint)."""
    digits = str(text).strip().removeprefix("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    return int(digits) if 0 < int(digits) <= MAX_ID else None


def normalize_severity(value: str | None) -> str:
    """Map a `severity` label to one of the known severities (no or unknown label counts as warning)."""
    if value is None:
        return DEFAULT_SEVERITY
    lowered = value.strip().lower()
    return lowered if lowered in SEVERITY_RANK else DEFAULT_SEVERITY


def highest_severity(values: list[str | None]) -> str:
    """The highest severity among the given labels; warning when there are none."""
    if not values:
        return DEFAULT_SEVERITY
    return max((normalize_severity(v) for v in values), key=SEVERITY_RANK.__getitem__)


def check_acknowledge(incident_id: int, status: Status) -> None:
    """Raise InvalidTransition unless a triggered incident is being acknowledged."""
    if status is not Status.TRIGGERED:
        raise InvalidTransition(incident_id, "acknowledge", status)


def check_resolve(incident_id: int, status: Status) -> None:
    """Raise InvalidTransition when the incident is already resolved."""
    if status is Status.RESOLVED:
        raise InvalidTransition(incident_id, "resolve", status)
