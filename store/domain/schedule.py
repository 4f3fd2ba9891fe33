"""On-call schedules as values: rotations in layers, overrides; the math lives beside them (oncall.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time


@dataclass(frozen=True, slots=True)
class Rotation:
    """How a layer hands over: every day, every week, or every N hours, at a local handoff time."""

    kind: str  # "daily" | "weekly" | "hourly"
    hours: int = 24  # for "hourly": the shift length in hours (the config's "12h")
    handoff_time: time = time(9, 0)  # local wall-clock time of the handoff
    handoff_weekday: int = 0  # for "weekly": 0 = Monday … 6 = Sunday


@dataclass(frozen=True, slots=True)
class Layer:
    """Participants taking turns; `start` is the date whose first handoff begins the first shift."""

    participants: tuple[str, ...]
    rotation: Rotation
    start: date


@dataclass(frozen=True, slots=True)
class Override:
    """A user on call instead of the layers over [start, end)."""

    user: str
    start: datetime
    end: datetime
    stored_id: int | None = None  # an override made without the file (API, chat, CLI): its id in PostgreSQL


@dataclass(frozen=True, slots=True)
class Announce:
    """Where handoffs are announced."""

    slack_channel: str | None = None
    telegram_chat: str | None = None
    discord_channel: str | None = None
    mattermost_channel: str | None = None

    def targets(self) -> list[tuple[str, str]]:
        """The (delivery channel, target) pairs an announcement goes to."""
        pairs = [("slack", self.slack_channel), ("telegram", self.telegram_chat),
                 ("discord", self.discord_channel), ("mattermost", self.mattermost_channel)]
        return [(channel, target) for channel, target in pairs if target]


@dataclass(frozen=True, slots=True)
class Schedule:
    """A schedule: later layers win while they have someone on call; overrides win over layers."""

    id: str
    timezone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()
    announce: Announce = field(default_factory=Announce)


@dataclass(frozen=True, slots=True)
class Shift:
    """One person on call over [start, end) (aware datetimes)."""

    user: str | None
    start: datetime
    end: datetime
