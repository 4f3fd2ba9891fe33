"""Silence durations: '30m', '2h', '1d' (1 minute to 30 days), parsed and written back the same way."""

from __future__ import annotations

import re

DURATION = re.compile(r"^(\d{1,6})(m|h|d)$")
UNITS = {"m": 60, "h": 3600, "d": 86400}
MIN_SECONDS = 60
MAX_SECONDS = 30 * 86400


class BadDuration(ValueError):
    """A silence duration that is not one; the message says what is expected."""


def parse_duration(text: str) -> int:
    """'30m', '2h' or '1d' to seconds; BadDuration unless it is from 1m to 30d."""
    match = DURATION.match(text.strip().lower())
    seconds = int(match.group(1)) * UNITS[match.group(2)] if match else 0
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise BadDuration(f"{text!r} is not a duration from 1m to 30d, such as 30m, 2h or 1d")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds as the largest whole unit: 3600 -> '1h', 5400 -> '90m'."""
    whole = int(seconds)
    for unit in ("d", "h"):
        if whole % UNITS[unit] == 0:
            return f"{whole // UNITS[unit]}{unit}"
    return f"{max(whole // 60, 1)}m"


def check_seconds(seconds: float) -> int:
    """A duration in seconds within 1m to 30d; BadDuration otherwise."""
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise BadDuration(f"{seconds:g}s is not a duration from 1m to 30d")
    return int(seconds)
