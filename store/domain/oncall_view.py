"""Who is on call now, as rows for the API, a text for chat, and a handoff announcement."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from store.domain.config_schema import Config
from store.domain.oncall import HORIZON, on_call_at
from store.domain.rotation import as_utc, zone_of
from store.domain.schedule import Schedule, Shift


def rfc3339(t: datetime) -> str:
    """An aware instant as RFC 3339 in UTC with a Z."""
    return as_utc(t).isoformat().replace("+00:00", "Z")


def current_shift(schedule: Schedule, now: datetime) -> tuple[Shift, bool, bool]:
    """The shift at `now`, and whether its start and its end are real (not cut at the look-up horizon)."""
    shift = on_call_at(schedule, now)
    return shift, now - shift.start < HORIZON, shift.end - now < HORIZON


def oncall_rows(config: Config, now: datetime) -> list[dict[str, Any]]:
    """For each schedule: id, user (None when nobody), since and until (None when unbounded)."""
    rows = []
    for schedule in config.schedules:
        shift, real_start, real_end = current_shift(schedule, now)
        rows.append(
            {
                "id": schedule.id,
                "user": shift.user,
                "since": rfc3339(shift.start) if real_start else None,
                "until": rfc3339(shift.end) if real_end else None,
            }
        )
    return rows


def local_time(t: datetime, schedule: Schedule) -> str:
    """An instant in the schedule's zone for people: "Mon 30 Nov 09:00 CET"."""
    return t.astimezone(zone_of(schedule.timezone)).strftime("%a %d %b %H:%M %Z")


def _name(config: Config, user_id: str | None) -> str:
    user = config.user(user_id) if user_id else None
    return user.name if user else (user_id or "nobody")


def oncall_line(config: Config, schedule: Schedule, shift: Shift, real_end: bool) -> str:
    """One schedule in words: "primary: Alice Example until Mon 30 Nov 09:00 CET"."""
    who = _name(config, shift.user) if shift.user else "nobody is on call"
    until = f" until {local_time(shift.end, schedule)}" if real_end else ""
    return f"{schedule.id}: {who}{until}"


def oncall_text(config: Config, now: datetime) -> str:
    """Who is on call in every schedule, one line each, for /incident oncall and /oncall."""
    if not config.schedules:
        return "No on-call schedules are configured."
    lines = ["On call now:"]
    for schedule in config.schedules:
        shift, _, real_end = current_shift(schedule, now)
        lines.append("• " + oncall_line(config, schedule, shift, real_end))
    return "\n".join(lines)


def handoff_message(config: Config, schedule: Schedule, shift: Shift, real_end: bool) -> str:
    """The announcement of a handoff: "Handoff in primary: Bob Example is on call until Mon 07 Dec 09:00 CET"."""
    until = f" until {local_time(shift.end, schedule)}" if real_end else ""
    if shift.user is None:
        return f"Handoff in {schedule.id}: nobody is on call{until}"
    return f"Handoff in {schedule.id}: {_name(config, shift.user)} is on call{until}"


# A handoff older than this when first seen (a fresh install, a scheduler down for long) is not announced.
ANNOUNCE_GRACE = timedelta(hours=1)
