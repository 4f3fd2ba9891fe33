"""Maintenance windows: when planned work is going on, and which alerts it covers (pure).

A window is one-off (`from`, `until`) or recurring: an RFC 5545 RRULE (or the shorthand "Sat 02:00",
weekly) read as wall-clock times in an IANA zone, each occurrence lasting `duration` of elapsed time.
An occurrence whose wall-clock start does not exist (the hour skipped when clocks go forward) starts
at the same instant as the wall-clock time just before the change plus its distance (02:30 on the
spring-forward night is 03:30 summer time); one that exists twice (clocks go back) starts at the first.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, HOURLY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from store.domain.matchers import Matcher

# A rule's first occurrence when it names no `from`: midnight of Monday 2024-01-01 in its zone
# (it fixes the phase of an INTERVAL and the defaults of BY-parts the rule leaves out).
ANCHOR = datetime(2024, 1, 1)
MAX_DURATION = timedelta(days=31)
MIN_DURATION = timedelta(minutes=1)
MAX_COUNT = 10_000
PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYHOUR", "BYMINUTE",
         "BYSECOND", "BYSETPOS")
FREQUENCIES = {"YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY, "HOURLY": HOURLY}
RRULE_EXPECTED = ("expected an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0 "
                  "(FREQ from HOURLY to YEARLY)")
WEEKLY_EXPECTED = 'expected a weekday and a time such as "Sat 02:00"'
WEEKDAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
_WEEKLY = re.compile(r"([A-Za-z]+)\s+([01]?\d|2[0-3]):([0-5]\d)")
_PROBE_YEAR = 9224  # ANCHOR's year plus 18 Gregorian cycles: the calendar is the same, and MAXYEAR is near
CACHE_AHEAD = timedelta(days=14)
# Frequencies whose periods have a fixed length: moving a rule's start by whole periods keeps its phase and the
# defaults it takes from its start (time of day, weekday).
_PERIODS = {HOURLY: timedelta(hours=1), DAILY: timedelta(days=1), WEEKLY: timedelta(days=7)}


class BadRule(ValueError):
    """An RRULE (or weekly shorthand) that cannot be used; the message says what is expected."""


def weekly_rule(text: str) -> str:
    """'Sat 02:00' as an RRULE: FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0;BYSECOND=0."""
    match = _WEEKLY.fullmatch(text.strip()) if isinstance(text, str) else None
    day = match.group(1).lower() if match else ""
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    weekday = next((i for i, name in enumerate(names) if len(day) >= 2 and name.startswith(day)), None)
    if match is None or weekday is None:
        raise BadRule(f"{text!r} is not a weekly time; {WEEKLY_EXPECTED}")
    hour, minute = int(match.group(2)), int(match.group(3))
    return f"FREQ=WEEKLY;BYDAY={WEEKDAYS[weekday].upper()};BYHOUR={hour};BYMINUTE={minute};BYSECOND=0"


def _parts(text: str) -> dict[str, str]:
    body = text.strip()
    body = body[len("RRULE:"):] if body.upper().startswith("RRULE:") else body
    if not body or "\n" in body or "\r" in body:
        raise BadRule(f"{text[:80]!r} is not one RRULE line; {RRULE_EXPECTED}")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip():
            raise BadRule(f"{item[:40]!r} is not NAME=VALUE; {RRULE_EXPECTED}")
        if name not in PARTS:
            raise BadRule(f"{name[:20]} is not supported; expected parts among {', '.join(PARTS)}")
        if name in parts:
            raise BadRule(f"{name} is given twice; expected each part once")
        parts[name] = value.strip().upper()
    return parts


def _check_parts(parts: Mapping[str, str]) -> int:
    """The frequency, after refusing the combinations that cannot be checked quickly to occur at all."""
    freq = FREQUENCIES.get(parts.get("FREQ", ""))
    if freq is None:
        raise BadRule(f"FREQ={parts.get('FREQ', '')} is not usable; {RRULE_EXPECTED}")
    if "BYSETPOS" in parts and freq not in (MONTHLY, YEARLY):
        raise BadRule("BYSETPOS is only supported with FREQ=MONTHLY or YEARLY")
    days = any(name in parts for name in ("BYDAY", "BYMONTHDAY", "BYMONTH"))
    if freq in (DAILY, HOURLY) and days and parts.get("INTERVAL", "1") != "1":
        raise BadRule("INTERVAL above 1 with BYDAY, BYMONTHDAY or BYMONTH is only supported with "
                      "FREQ=WEEKLY, MONTHLY or YEARLY")
    if "COUNT" in parts and not (parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= MAX_COUNT):
        raise BadRule(f"COUNT={parts['COUNT'][:10]} is not usable; expected a whole number from 1 to {MAX_COUNT}")
    if parts.get("UNTIL", "").endswith("Z"):
        raise BadRule("UNTIL ends with Z; expected a local time of the window's timezone such as 20261231T000000")
    return freq


def parse_rule(text: str, anchor: datetime = ANCHOR) -> rrule:
    """An RRULE (one line, optionally 'RRULE:'-prefixed) as a dateutil rule from a naive local `anchor`;
    BadRule when it cannot be read or never occurs."""
    if not isinstance(text, str):
        raise BadRule(f"{text!r} is not text; {RRULE_EXPECTED}")
    parts = _parts(text)
    freq = _check_parts(parts)
    line = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        rule = rrulestr(line, dtstart=anchor)
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadRule(f"{str(exc)[:120]}; {RRULE_EXPECTED}") from None
    if not isinstance(rule, rrule):
        raise BadRule(f"{text[:80]!r} is not one rule; {RRULE_EXPECTED}")
    if not _occurs(line, rule._dtstart, freq):
        raise BadRule(f"{text[:80]!r} never occurs; expected a rule with at least one occurrence")
    return rule


@functools.lru_cache(maxsize=256)
def _occurs(line: str, start: datetime, freq: int) -> bool:
    """Whether the rule has an occurrence, decided in bounded time: its day pattern is looked for in one
    Gregorian cycle (400 years, the same calendar) near the last year dateutil iterates to."""
    rule = rrulestr(line, dtstart=start)
    probe_start = start.replace(year=_PROBE_YEAR + (start.year - ANCHOR.year) % 400) if start.year < _PROBE_YEAR \
        else start
    probe = rule.replace(dtstart=probe_start, count=None, until=None)  # UNTIL and COUNT stop only at a match
    if freq not in (MONTHLY, YEARLY):  # their day filters mean the same in a yearly rule, which iterates fast
        probe = probe.replace(freq=YEARLY, interval=1)
    return probe.after(probe_start, inc=True) is not None


def _aware(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in `zone` as an instant (fold 0: before the change for a skipped or doubled time)."""
    return local.replace(tzinfo=zone).astimezone(UTC)


def _naive(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


class Recurrence:
    """A rule's occurrences as instants, with a small cache of the ones near the last instant asked about."""

    __slots__ = ("_cached", "_hi", "_lo", "counted", "duration", "rule", "text", "zone")

    def __init__(self, text: str, zone: str, duration: timedelta, anchor: datetime | None = None) -> None:
        self.text, self.duration = text, duration
        self.zone = ZoneInfo(zone)
        self.rule = parse_rule(text, (anchor or ANCHOR).replace(tzinfo=None, microsecond=0))
        self.counted = self.rule._count is not None
        self._lo: datetime | None = None
        self._hi: datetime | None = None
        self._cached: list[tuple[datetime, datetime]] = []  # (instant, the rule's own wall-clock time)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recurrence) and (self.text, self.zone, self.duration, self.rule._dtstart) == (
            other.text, other.zone, other.duration, other.rule._dtstart)

    def __hash__(self) -> int:
        return hash((self.text, str(self.zone), self.duration))

    def __repr__(self) -> str:
        return f"Recurrence({self.text!r}, {self.zone.key!r}, {self.duration})"

    def starts_between(self, lo: datetime, hi: datetime) -> list[datetime]:
        """The occurrences' starts (aware, UTC) from `lo` to `hi`, both included."""
        if self._lo is None or self._hi is None or lo < self._lo or hi > self._hi:
            self._fill(lo, hi + CACHE_AHEAD)
        return [start for start, _ in self._cached if lo <= start <= hi]

    def _fill(self, lo: datetime, hi: datetime) -> None:
        margin = timedelta(days=2)  # wall-clock and UTC differ by less than a day
        first, last = _naive(lo, self.zone) - margin, _naive(hi, self.zone) + margin
        local = self._near(first).between(first, last, inc=True)
        self._cached = sorted({(_aware(wall, self.zone), wall) for wall in local})
        self._lo, self._hi = lo, hi

    def _near(self, first: datetime) -> rrule:
        """The rule started at a whole number of its periods before `first` (the same rule from there on), so
        that one anchored years ago is not walked from its anchor; COUNT rules and months vary: as they are."""
        period = _PERIODS.get(self.rule._freq)
        start = self.rule._dtstart
        if period is None or self.counted or first <= start:
            return self.rule
        step = period * self.rule._interval
        return self.rule.replace(dtstart=start + step * ((first - start) // step))

    def occurrence_at(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence (start, end) that `moment` falls in, if any (the latest one when they overlap)."""
        starts = self.starts_between(moment - self.duration, moment)
        for start in reversed(starts):
            if start <= moment < start + self.duration:
                return start, start + self.duration
        return None

    def next_start(self, moment: datetime, horizon: timedelta = timedelta(days=400)) -> datetime | None:
        """The first occurrence starting after `moment`, within `horizon`."""
        step = timedelta(days=7)
        lo = moment
        while lo < moment + horizon:
            later = [s for s in self.starts_between(lo, lo + step) if s > moment]
            if later:
                return later[0]
            lo += step
        return None


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window: the alerts its matchers cover, one-off (`starts_at`..`ends_at`) or recurring."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    recurrence: Recurrence | None = None
    silence: bool = False  # also make the matching Alertmanager silence while it is on
    source: str = "config"  # "config" or "api"
    created_by: str | None = None
    comment: str = ""
    silence_ids: tuple[str, ...] = field(default=(), compare=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every matcher matches (a window always has at least one)."""
        return bool(self.matchers) and all(m.matches(labels) for m in self.matchers)

    def current(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The (start, end) in force at `moment`, or None."""
        if self.recurrence is not None:
            return self.recurrence.occurrence_at(moment)
        if self.starts_at is not None and self.ends_at is not None and self.starts_at <= moment < self.ends_at:
            return self.starts_at, self.ends_at
        return None

    def next_period(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The period in force at `moment`, else the next one to come (None: none is left)."""
        now = self.current(moment)
        if now is not None:
            return now
        if self.recurrence is not None:
            start = self.recurrence.next_start(moment)
            return (start, start + self.recurrence.duration) if start else None
        if self.starts_at is not None and self.ends_at is not None and moment < self.starts_at:
            return self.starts_at, self.ends_at
        return None

    def match_text(self) -> list[str]:
        """The matchers as Alertmanager writes them."""
        return [str(m) for m in self.matchers]


def covering(windows: Iterable[Window], labels: Mapping[str, str], moment: datetime) -> Window | None:
    """The first window in force at `moment` whose matchers match the labels."""
    for window in windows:
        if window.matches(labels) and window.current(moment) is not None:
            return window
    return None


def active(windows: Iterable[Window], moment: datetime) -> list[Window]:
    """The windows in force at `moment`, in order."""
    return [w for w in windows if w.current(moment) is not None]


def window_for(active_windows: Sequence[Window], label_sets: Sequence[Mapping[str, str]]) -> Window | None:
    """The window an incident opening with these firing alerts is in: one that covers the first alert and,
    with the others, every one of them is covered by some window (else the incident pages as usual)."""
    if not label_sets:
        return None
    first = next((w for w in active_windows if w.matches(label_sets[0])), None)
    if first is None:
        return None
    if all(any(w.matches(labels) for w in active_windows) for labels in label_sets[1:]):
        return first
    return None


def check_duration(value: timedelta) -> timedelta:
    """A window's length, from 1m to 31d; ValueError otherwise."""
    if not MIN_DURATION <= value <= MAX_DURATION:
        raise ValueError("expected a duration from 1m to 31d")
    return value
