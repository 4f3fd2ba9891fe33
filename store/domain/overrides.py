"""Overrides made without the file, merged into the config's schedules; the overlap rule and its words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from store.domain.config_schema import Config
from store.domain.oncall_view import rfc3339
from store.domain.schedule import Override

# Stored overrides that ended longer ago than this are not merged (the .ics feed looks two weeks back).
KEEP_ENDED = timedelta(weeks=3)
MAX_LENGTH = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class ScheduleOverride:
    """An override of one schedule; `id` is its stored id, None for one written in the config file."""

    schedule_id: str
    override: Override
    id: int | None = None

    def describe(self, name: str | None = None) -> str:
        """The override in words: "override 7 (alice from 2026-12-24T17:00:00Z until 2026-12-27T08:00:00Z)"."""
        o = self.override
        name = name or (f"override {self.id}" if self.id is not None else "the config file's override")
        return f"{name} ({o.user} from {rfc3339(o.start)} until {rfc3339(o.end)})"


def file_overrides(config: Config, schedule_id: str) -> list[ScheduleOverride]:
    """The overrides the config file declares for a schedule (not those merged in from PostgreSQL)."""
    schedule = config.schedule(schedule_id)
    return [ScheduleOverride(schedule_id, o) for o in (schedule.overrides if schedule else ()) if o.stored_id is None]


def overlaps(a: Override, start: datetime, end: datetime) -> bool:
    """True when the override shares some instant with [start, end)."""
    return a.start < end and start < a.end


def check_window(start: datetime, end: datetime) -> str | None:
    """Why [start, end) is no override window (None when it is one)."""
    if start.tzinfo is None or end.tzinfo is None:
        return "expected times with their offset, such as 2026-12-24T18:00:00+01:00"
    if end <= start:
        return f"until ({rfc3339(end)}) is not after from ({rfc3339(start)}); expected a later until"
    if end - start > MAX_LENGTH:
        return "longer than 366 days; expected a shorter override (or change the schedule in the file)"
    return None


def with_overrides(config: Config, stored: Iterable[ScheduleOverride]) -> Config:
    """The config with stored overrides after each schedule's own (a later override wins where they meet)."""
    extra: dict[str, list[Override]] = {}
    for item in stored:
        extra.setdefault(item.schedule_id, []).append(item.override)
    if not extra:
        return config
    schedules = tuple(
        replace(s, overrides=(*s.overrides, *extra[s.id])) if s.id in extra else s for s in config.schedules
    )
    return replace(config, schedules=schedules)


def refusal(new: ScheduleOverride, clashing: Sequence[ScheduleOverride]) -> str:
    """Why an override is refused: it overlaps others of the same schedule, all named."""
    others = "; ".join(c.describe() for c in clashing)
    return (f"{new.describe('the new override')} overlaps {others} in schedule {new.schedule_id}; "
            "delete that one first or pick other times")
