"""Flapping: a group of alerts that keeps changing state pages once, then stays quiet until it is stable (pure).

A state change is a group's incident opening, resolving by itself or reopening. A group is flapping when
more than `threshold` changes happened within `window` (0 turns detection off); it stops flapping once no
change happened for `window`. Only the latest `threshold + 1` changes are ever needed, so that is all
that is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from store.domain.config_fields import format_span


def kept(threshold: int) -> int:
    """How many recent changes decide (at least one, to know when the last change was)."""
    return max(threshold + 1, 1)


def with_change(changes: Sequence[datetime], at: datetime, window: timedelta, threshold: int) -> list[datetime]:
    """The recent changes after one more at `at`: those within `window` of it, the latest `kept` of them."""
    recent = sorted([c for c in changes if c > at - window] + [at])
    return recent[-kept(threshold):]


def is_flapping(changes: Sequence[datetime], at: datetime, window: timedelta, threshold: int) -> bool:
    """True when more than `threshold` changes fall within `window` up to `at` (never when threshold is 0)."""
    if threshold <= 0:
        return False
    return sum(1 for c in changes if at - window < c <= at) > threshold


def settled(last_change: datetime | None, at: datetime, window: timedelta) -> bool:
    """True when the group has been stable (no change) for `window` at `at`."""
    return last_change is None or at - last_change >= window


def describe(threshold: int, window: timedelta) -> str:
    """'more than 4 state changes within 1h'."""
    changes = "change" if threshold == 1 else "changes"
    return f"more than {threshold} state {changes} within {format_span(window)}"


def after_change(
    changes: Sequence[datetime], flapping_since: datetime | None, at: datetime, window: timedelta, threshold: int
) -> tuple[list[datetime], datetime | None]:
    """A group's recent changes and flapping start after a change at `at`: it flaps when more than `threshold`
    changes fall in `window`, and keeps flapping (since it started) until it was stable for `window`."""
    kept_changes = with_change(changes, at, window, threshold)
    still = flapping_since is not None and threshold > 0 and not settled(max(changes, default=None), at, window)
    if is_flapping(kept_changes, at, window, threshold) or still:
        return kept_changes, flapping_since or at
    return kept_changes, None
