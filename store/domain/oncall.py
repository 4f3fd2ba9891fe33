"""Who is on call: a schedule's layers and overrides flattened into one line of shifts.

Layers are combined so that a later layer wins while it has someone on call (an earlier layer shows
through where a later one has nobody); overrides win over every layer, and where overrides overlap
the one listed later wins. Adjacent shifts of the same user are merged, so every boundary between
returned shifts is a real change of who is on call. The rotation math itself is in rotation.py.

A schedule whose on-call person never changes would have an endless shift: spans are looked for up
to HORIZON either side of the instant asked about and are cut there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from store.domain.rotation import (
    Handoffs,
    as_utc,
    layer_handoffs,
    layer_shifts,
    local_instant,
    validate_rotation,
    zone_of,
)
from store.domain.schedule import Layer, Override, Schedule, Shift

__all__ = [
    "HORIZON",
    "Handoffs",
    "layer_handoffs",
    "layer_shifts",
    "local_instant",
    "next_handoff_after",
    "on_call_at",
    "shifts_between",
]

HORIZON = timedelta(days=366)
_FIRST_WINDOW = timedelta(days=2)


def shifts_between(schedule: Schedule, a: datetime, b: datetime) -> list[Shift]:
    """The flattened shifts tiling [a, b) in order (UTC; user None where nobody is on call)."""
    a, b = as_utc(a), as_utc(b)
    if a >= b:
        return []
    zone = zone_of(schedule.timezone)
    layers = [_layer_line(layer, zone, a, b) for layer in _visible_layers(schedule.layers)]
    overrides = [_clip(o, a, b) for o in schedule.overrides]
    active = [o for o in overrides if o is not None]
    points = {a, b}
    points.update(shift.start for shifts in layers for shift in shifts)
    points.update(edge for o in active for edge in (o.start, o.end))
    cursors = [0] * len(layers)
    flat: list[Shift] = []
    ordered = sorted(points)
    for lo, hi in zip(ordered, ordered[1:], strict=False):
        for i, shifts in enumerate(layers):
            while shifts[cursors[i]].end <= lo:
                cursors[i] += 1
        user = _override_user(active, lo) or _layer_user(layers, cursors)
        if flat and flat[-1].user == user:
            flat[-1] = Shift(user, flat[-1].start, hi)
        else:
            flat.append(Shift(user, lo, hi))
    return flat


def on_call_at(schedule: Schedule, t: datetime) -> Shift:
    """Who is on call at instant t, with the whole span of that flattened shift (cut at HORIZON either side)."""
    t = as_utc(t)
    window = _FIRST_WINDOW
    while True:
        a, b = t - window, t + window
        shift = next(s for s in shifts_between(schedule, a, b) if s.start <= t < s.end)
        if (shift.start > a and shift.end < b) or window >= HORIZON:
            return shift
        window = min(window * 2, HORIZON)


def next_handoff_after(schedule: Schedule, t: datetime) -> datetime | None:
    """The first instant after t at which the on-call person changes (None if none within HORIZON)."""
    t = as_utc(t)
    window = _FIRST_WINDOW
    while True:
        shifts = shifts_between(schedule, t, t + window)
        if len(shifts) > 1:
            return shifts[0].end
        if window >= HORIZON:
            return None
        window = min(window * 2, HORIZON)


def _visible_layers(layers: tuple[Layer, ...]) -> tuple[Layer, ...]:
    # Layers below one that always has the same person on call never show.
    for i in range(len(layers) - 1, 0, -1):
        if _always(layers[i]) is not None:
            return layers[i:]
    return layers


def _always(layer: Layer) -> str | None:
    people = {person or None for person in layer.participants}
    return next(iter(people)) if len(people) == 1 else None


def _layer_line(layer: Layer, zone: ZoneInfo, a: datetime, b: datetime) -> list[Shift]:
    validate_rotation(layer.rotation)
    # One person (or nobody) in every slot never hands over: skip computing each rotation shift.
    if len({person or None for person in layer.participants}) <= 1:
        return [Shift(_always(layer), a, b)]
    return layer_shifts(layer, zone, a, b)


def _layer_user(layers: list[list[Shift]], cursors: list[int]) -> str | None:
    for shifts, cursor in zip(reversed(layers), reversed(cursors), strict=True):
        if shifts[cursor].user is not None:
            return shifts[cursor].user
    return None


def _override_user(overrides: list[Override], at: datetime) -> str | None:
    for override in reversed(overrides):
        if override.start <= at < override.end:
            return override.user
    return None


def _clip(override: Override, a: datetime, b: datetime) -> Override | None:
    start, end = max(as_utc(override.start), a), min(as_utc(override.end), b)
    return Override(override.user, start, end) if start < end else None

