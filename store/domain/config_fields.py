"""Reading untrusted config values: every problem is collected with its path, none stops the reading."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from store.domain.matchers import EXPECTED, Matcher, parse_matchers

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ID_EXPECTED = "expected letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)"
_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_DURATION_UNITS = (365 * 86400.0, 7 * 86400.0, 86400.0, 3600.0, 60.0, 1.0, 0.001)
DURATION_EXPECTED = "expected a duration such as 30s, 15m, 2h, 1d or 1h30m"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the config: where (`routes[2].match[0]`) and what, with what was expected."""

    path: str
    message: str

    def line(self, source: str) -> str:
        """The problem as one line `FILE: PATH: message`."""
        return f"{source}: {self.path}: {self.message}" if self.path else f"{source}: {self.message}"


@dataclass(slots=True)
class Problems:
    """The problems found so far."""

    items: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        """Record one problem."""
        self.items.append(Problem(path, message))

    def mark(self) -> int:
        """A mark to ask later whether anything was reported since."""
        return len(self.items)

    def clean_since(self, mark: int) -> bool:
        """True when no problem was reported since the mark."""
        return len(self.items) == mark


def child(path: str, key: str | int) -> str:
    """The path of a key or index below `path`: `routes[0]`, `routes[0].match`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe(value: object) -> str:
    """How a wrong value is shown in a message: its YAML type and, when short, the value."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) <= 60 else f"the text {value[:57]!r}..."
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__} ({value})"


def parse_duration(text: str) -> timedelta:
    """`30s`, `15m`, `2h`, `1d`, `1h30m`, `0` (Prometheus' format) to a timedelta; ValueError otherwise."""
    text = text.strip()
    if text == "0":
        return timedelta(0)
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(DURATION_EXPECTED)
    seconds = sum(int(n) * unit for n, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if n)
    return timedelta(seconds=seconds)


def format_span(span: timedelta) -> str:
    """A duration as parse_duration reads it, largest units first: 90 minutes is '1h30m', 45 s '45s'."""
    seconds = int(span.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


class Fields:
    """A mapping read at `path`: unknown, missing and mistyped keys each become one problem."""

    def __init__(
        self,
        value: object,
        path: str,
        problems: Problems,
        allowed: Sequence[str],
        required: Sequence[str] = (),
    ) -> None:
        self.path = path
        self.problems = problems
        self.ok = isinstance(value, dict)
        self.data: dict[Any, Any] = value if isinstance(value, dict) else {}
        if not self.ok:
            problems.add(path, f"got {describe(value)}; expected a mapping with keys {', '.join(allowed)}")
            return
        for key in self.data:
            if key not in allowed:
                problems.add(child(path, str(key)), f"unknown key; expected one of {', '.join(allowed)}")
        for key in required:
            if key not in self.data:
                problems.add(child(path, key), "missing; this key is required")

    def has(self, key: str) -> bool:
        """True when the key is present (even with a null value)."""
        return key in self.data

    def at(self, key: str) -> str:
        """The path of one key of this mapping."""
        return child(self.path, key)

    def wrong(self, key: str, expected: str) -> None:
        """Report the key's value as wrong."""
        self.problems.add(self.at(key), f"got {describe(self.data.get(key))}; {expected}")

    def text(
        self, key: str, pattern: re.Pattern[str] | None = None, expected: str = "expected text", numbers: bool = False
    ) -> str | None:
        """A string value (a whole number taken as its text when `numbers`), or None when absent or wrong."""
        if key not in self.data:
            return None
        value = self.data[key]
        if numbers and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip() or (pattern is not None and not pattern.fullmatch(value)):
            self.wrong(key, expected)
            return None
        return value

    def identifier(self, key: str) -> str | None:
        """An id such as `alice` or `primary`."""
        return self.text(key, ID, ID_EXPECTED)

    def boolean(self, key: str, default: bool) -> bool:
        """true or false."""
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.wrong(key, "expected true or false")
            return default
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        """A whole number from low to high."""
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.wrong(key, f"expected a whole number from {low} to {high}")
            return default
        return value

    def duration(self, key: str, default: timedelta | None = None) -> timedelta | None:
        """A duration such as 15m; a bare 0 is allowed."""
        if key not in self.data:
            return default
        value = self.data[key]
        if value == 0 and not isinstance(value, bool):
            return timedelta(0)
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError:
                pass
        self.wrong(key, DURATION_EXPECTED)
        return default

    def instant(self, key: str) -> datetime | None:
        """An RFC 3339 time with its offset, such as 2026-12-24T18:00:00+01:00."""
        value = self.data.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value.strip())
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value
        if self.has(key):
            self.wrong(key, 'expected an RFC 3339 time with its offset such as "2026-12-24T18:00:00+01:00"')
        return None

    def items(
        self, key: str, expected: str, allow_single: bool = False, nonempty: bool = False
    ) -> Iterator[tuple[object, str]]:
        """Each item of a list value with its path (null is an empty list; a lone scalar a list of one if allowed)."""
        if key not in self.data:
            return
        value = self.data[key]
        if allow_single and isinstance(value, str | int) and not isinstance(value, bool):
            yield value, self.at(key)
            return
        if value is None:
            value = []
        if not isinstance(value, list):
            self.wrong(key, f"expected a list of {expected}")
            return
        if nonempty and not value:
            self.problems.add(self.at(key), f"empty; expected a list of one or more {expected}")
        for index, item in enumerate(value):
            yield item, child(self.at(key), index)


def each_mapping(value: object, path: str, problems: Problems, what: str) -> Iterator[tuple[object, str]]:
    """The items of a top-level section's list, reporting a section that is not a list."""
    if value is None:
        return
    if not isinstance(value, list):
        problems.add(path, f"got {describe(value)}; expected a list of {what}")
        return
    for index, item in enumerate(value):
        yield item, child(path, index)


def check_unique(found: dict[str, str], value: str | None, path: str, problems: Problems, what: str = "id") -> None:
    """Report a value already seen (at the path recorded in `found`), else record it."""
    if value is None:
        return
    if value in found:
        problems.add(path, f"duplicate {what} {value!r} (also at {found[value]}); expected each {what} once")
    else:
        found[value] = path


def matchers_of(fields: Fields) -> list[Matcher]:
    """The `match` list of a mapping: Alertmanager matchers, each wrong one a problem."""
    matchers: list[Matcher] = []
    for text, at in fields.items("match", 'matchers such as severity="critical"'):
        if not isinstance(text, str):
            fields.problems.add(at, f"got {describe(text)}; {EXPECTED}")
            continue
        try:
            matchers.extend(parse_matchers(text))
        except ValueError as exc:
            fields.problems.add(at, str(exc))
    return matchers
