"""Rotation math for one layer: the handoff instants of a rotation and the shifts they make.

A rotation is a sequence of handoff instants H(n) for every integer n (negative ones included, so a
layer covers times before its start too). Shift n is [H(n), H(n+1)) and belongs to participant
n mod len(participants). H(0) is the first handoff at or after the start date's local midnight, read
as the configured handoff (time, and weekday for weekly) on or after the start date: for an hourly
rotation that is the handoff time on the start date itself, so that `12h, handoff 20:00,
[carol, null]` gives carol the nights (not the 08:00 grid point before, which would hand her the days).
A participant that is empty ("" or None) is a turn with nobody on call, where lower layers show through.

- daily and weekly: H(n) is the handoff's local wall-clock time on the n-th day (week) in the
  schedule's IANA zone, so a shift spanning a daylight-saving change lasts 23 or 25 hours (a week
  167 or 169 hours). A wall time that does not exist (spring-forward gap) is taken as the first
  valid instant after it, the end of the gap; an ambiguous one (fall back) as its first occurrence.
- hourly ("every N hours"): H(n) = H(0) + n * N hours of elapsed (absolute) time, so a 12h rotation
  keeps a 12-hour cadence across a change and its local handoff times move by the change.

Every instant is computed arithmetically from the cycle index, so far-away times cost no more than
near ones. Returned datetimes are in UTC (aware) so that subtracting them gives elapsed time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from store.domain.schedule import Layer, Rotation, Shift

ROTATION_KINDS = ("daily", "weekly", "hourly")
_ONE_SECOND = timedelta(seconds=1)


def zone_of(tz: ZoneInfo | str) -> ZoneInfo:
    """The ZoneInfo for an IANA name (or the zone itself)."""
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time `at` on `day` in `zone`: first occurrence if ambiguous, gap's end if skipped."""
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    instant = naive.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant  # exists; fold=0 picked the first occurrence if it is ambiguous
    # In a gap, fold=0 and fold=1 read the wall time with the offsets before and after the change;
    # the change itself lies between those two readings.
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _first_change(min(instant, other), max(instant, other), zone)


def _first_change(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in (lo, hi] whose UTC offset in `zone` differs from lo's (binary search)."""
    lo = lo.replace(microsecond=0)  # changes happen on whole seconds
    before = lo.astimezone(zone).utcoffset()
    low, high = 0, -((lo - hi) // _ONE_SECOND)
    while low + 1 < high:
        middle = (low + high) // 2
        if (lo + middle * _ONE_SECOND).astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return lo + high * _ONE_SECOND


def validate_rotation(rotation: Rotation) -> None:
    """Raise ValueError when a rotation cannot be computed (unknown kind, hours or weekday out of range)."""
    if rotation.kind not in ROTATION_KINDS:
        raise ValueError(f"rotation kind {rotation.kind!r}: expected one of {', '.join(ROTATION_KINDS)}")
    if rotation.kind == "hourly" and rotation.hours <= 0:
        raise ValueError(f"hourly rotation of {rotation.hours} hours: expected a positive number of hours")
    if rotation.kind == "weekly" and not 0 <= rotation.handoff_weekday <= 6:
        raise ValueError(f"handoff weekday {rotation.handoff_weekday}: expected 0 (Monday) to 6 (Sunday)")


class Handoffs:
    """The handoff instants H(n) of one layer's rotation in one zone."""

    def __init__(self, rotation: Rotation, start: date, zone: ZoneInfo) -> None:
        validate_rotation(rotation)
        self.zone = zone
        self._at = rotation.handoff_time
        self._first_day = start
        self._days = 1
        if rotation.kind == "weekly":
            self._first_day = start + timedelta(days=(rotation.handoff_weekday - start.weekday()) % 7)
            self._days = 7
        self._step: timedelta | None = None
        if rotation.kind == "hourly":
            self._step = timedelta(hours=rotation.hours)
            self._origin = local_instant(start, self._at, zone)

    def at(self, n: int) -> datetime:
        """H(n), the start of shift n (UTC)."""
        if self._step is not None:
            return self._origin + n * self._step
        return local_instant(self._first_day + timedelta(days=n * self._days), self._at, self.zone)

    def index(self, t: datetime) -> int:
        """The n with H(n) <= t < H(n+1)."""
        if self._step is not None:
            return (t - self._origin) // self._step
        local_day = t.astimezone(self.zone).date()
        n = (local_day - self._first_day).days // self._days
        # The local-day guess is off by at most one shift (handoff later in the day, gaps); settle it.
        while self.at(n) > t:
            n -= 1
        while self.at(n + 1) <= t:
            n += 1
        return n


def layer_shifts(layer: Layer, tz: ZoneInfo | str, a: datetime, b: datetime) -> list[Shift]:
    """The layer's rotation shifts over [a, b), clipped to it, in order (user None if it has no participants)."""
    a, b = as_utc(a), as_utc(b)
    if a >= b:
        return []
    if not layer.participants:
        return [Shift(None, a, b)]
    handoffs = Handoffs(layer.rotation, layer.start, zone_of(tz))
    # An empty slot ("" or None in participants) is a turn with nobody on call: the layers below show through.
    return _shifts_from(handoffs, lambda n: layer.participants[n % len(layer.participants)] or None, a, b)


def layer_handoffs(layer: Layer, tz: ZoneInfo | str) -> Handoffs:
    """The handoff sequence of a layer (for callers that need H(n) itself)."""
    return Handoffs(layer.rotation, layer.start, zone_of(tz))


def _shifts_from(handoffs: Handoffs, user_of: Callable[[int], str | None], a: datetime, b: datetime) -> list[Shift]:
    n = handoffs.index(a)
    start = handoffs.at(n)
    shifts: list[Shift] = []
    while start < b:
        end = handoffs.at(n + 1)
        if start < end:  # a skipped local day can make a handoff coincide with the next one
            shifts.append(Shift(user_of(n), max(start, a), min(end, b)))
        n, start = n + 1, end
    return shifts


def as_utc(t: datetime) -> datetime:
    """t in UTC; ValueError for a naive datetime."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t.isoformat()}: expected an aware datetime (with a UTC offset)")
    return t.astimezone(UTC)
