"""A schedule's shifts as an iCalendar feed (RFC 5545), written by hand: escaping, folding, CRLF."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from store.domain.oncall import on_call_at, shifts_between
from store.domain.rotation import as_utc
from store.domain.schedule import Schedule, Shift

FEED_BEFORE = timedelta(weeks=2)
FEED_AFTER = timedelta(weeks=8)
_MAX_OCTETS = 75
_TINY = timedelta(microseconds=1)


def escape_text(value: str) -> str:
    """A TEXT value escaped as RFC 5545 3.3.11 asks: backslash, semicolon, comma, newline."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """A content line folded at 75 octets (never inside a UTF-8 character), lines joined by CRLF + space."""
    parts: list[str] = []
    current, size = "", 0
    for char in line:
        octets = len(char.encode())
        if size + octets > _MAX_OCTETS:
            parts.append(current)
            current, size = " ", 1  # the continuation line's leading space counts
        current += char
        size += octets
    parts.append(current)
    return "\r\n".join(parts)


def ical_time(t: datetime) -> str:
    """An instant as a UTC DATE-TIME: 20261130T080000Z."""
    return as_utc(t).strftime("%Y%m%dT%H%M%SZ")


def feed_shifts(schedule: Schedule, now: datetime) -> list[Shift]:
    """The shifts with someone on call overlapping [now - 2 weeks, now + 8 weeks), edges at their true bounds."""
    a, b = now - FEED_BEFORE, now + FEED_AFTER
    shifts = shifts_between(schedule, a, b)
    if shifts:
        # The window cuts the first and last shifts; their real spans keep each shift's UID stable over time.
        shifts[0] = on_call_at(schedule, a)
        shifts[-1] = on_call_at(schedule, b - _TINY) if len(shifts) > 1 else shifts[0]
    return [s for s in shifts if s.user is not None]


def render_calendar(schedule: Schedule, shifts: Sequence[Shift], names: Mapping[str, str], now: datetime) -> str:
    """The VCALENDAR text: one VEVENT per shift, SUMMARY "On call: NAME", UID stable per shift."""
    stamp = ical_time(now)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tocsin//On-call schedules//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(f'On call: {schedule.id}')}",
        f"X-WR-TIMEZONE:{escape_text(schedule.timezone)}",
    ]
    for shift in shifts:
        user = shift.user or ""
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape_text(f'{ical_time(shift.start)}-{user}-{schedule.id}@tocsin')}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{ical_time(shift.start)}",
            f"DTEND:{ical_time(shift.end)}",
            f"SUMMARY:{escape_text('On call: ' + names.get(user, user))}",
            f"DESCRIPTION:{escape_text(f'{names.get(user, user)} ({user}) is on call for schedule {schedule.id}.')}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
