"""Jinja filters of the dashboard: times, durations and links that are safe to put in an href."""

from __future__ import annotations

from datetime import UTC, datetime

from store.domain.links import safe_url


def when(value: datetime | None) -> str:
    """A time as 'YYYY-MM-DD HH:MM:SS UTC' ('—' for none)."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    """A time as RFC 3339 UTC, for <time datetime=…> ('' for none)."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def duration(seconds: float | None) -> str:
    """Seconds as '45s', '12m 5s', '3h 20m' or '2d 4h' ('—' when not measured)."""
    if seconds is None:
        return "—"
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def between(start: datetime | None, end: datetime | None) -> str:
    """The duration from start to end ('—' when either is missing)."""
    if start is None or end is None:
        return "—"
    return duration((end - start).total_seconds())


FILTERS = {"when": when, "iso": iso, "duration": duration, "between": between, "safe_url": safe_url}
