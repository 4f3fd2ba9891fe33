"""The `schedules` section of the config file: layers of rotations, overrides, announcements."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Set
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from store.domain.config_fields import Fields, Problems, check_unique, describe, each_mapping
from store.domain.contacts import (
    DISCORD_CHANNEL_EXPECTED,
    DISCORD_ID,
    MATTERMOST_CHANNEL_EXPECTED,
    MATTERMOST_ID,
    SLACK_CHANNEL,
    SLACK_CHANNEL_EXPECTED,
    TELEGRAM_CHAT,
    TELEGRAM_CHAT_EXPECTED,
)
from store.domain.schedule import Announce, Layer, Override, Rotation, Schedule

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOURLY = re.compile(r"([1-9][0-9]{0,3})h")
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
ROTATION_EXPECTED = 'expected "daily", "weekly" or a number of hours such as "12h"'
SCHEDULE_KEYS = ("id", "timezone", "layers", "overrides", "announce")
LAYER_KEYS = ("participants", "rotation", "handoff", "start")
DEFAULT_HANDOFF = {"weekly": "Mon 09:00", "daily": "09:00", "hourly": "09:00"}


def parse_rotation(text: str) -> Rotation:
    """ "daily", "weekly" or "<N>h" to a Rotation with the default handoff; ValueError otherwise."""
    if text in ("daily", "weekly"):
        return Rotation(kind=text)
    hourly = _HOURLY.fullmatch(text)
    if hourly is None:
        raise ValueError(f"unknown rotation {text!r}; {ROTATION_EXPECTED}")
    return Rotation(kind="hourly", hours=int(hourly.group(1)))


def parse_handoff(kind: str, text: str) -> tuple[time, int]:
    """The handoff's local time and weekday: "Mon 09:00" for weekly, "HH:MM" otherwise; ValueError when wrong."""
    parts = text.split()
    if kind == "weekly":
        day = parts[0].lower() if len(parts) == 2 else ""
        weekday = next((i for i, name in enumerate(WEEKDAYS) if day in (name, name[:3])), None)
        clock = _HHMM.fullmatch(parts[1]) if len(parts) == 2 else None
        if weekday is None or clock is None:
            raise ValueError(f'bad weekly handoff {text!r}; expected a weekday and a time such as "Mon 09:00"')
        return time(int(clock.group(1)), int(clock.group(2))), weekday
    clock = _HHMM.fullmatch(text.strip())
    if clock is None:
        raise ValueError(f'bad {kind} handoff {text!r}; expected a time of day "HH:MM" such as "09:00"')
    return time(int(clock.group(1)), int(clock.group(2))), 0


def check_timezone(name: str) -> str:
    """The IANA time zone name unchanged, or ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}; expected an IANA time zone such as Europe/Berlin") from None
    return name


def read_schedules(value: object, problems: Problems, user_ids: Set[str]) -> tuple[tuple[Schedule, ...], set[str]]:
    """The schedules, and every schedule id seen (also of schedules with problems, to check references)."""
    schedules: list[Schedule] = []
    seen: dict[str, str] = {}
    for item, path in each_mapping(value, "schedules", problems, "schedules"):
        mark = problems.mark()
        fields = Fields(item, path, problems, SCHEDULE_KEYS, ("id", "timezone", "layers"))
        schedule_id = fields.identifier("id")
        check_unique(seen, schedule_id, fields.at("id"), problems)
        zone = _timezone(fields)
        layers = [_layer(x, at, problems, user_ids) for x, at in fields.items("layers", "layers", nonempty=True)]
        overrides = [_override(o, at, problems, user_ids) for o, at in fields.items("overrides", "overrides")]
        announce = _announce(fields.data.get("announce"), fields.at("announce"), problems)
        if problems.clean_since(mark) and schedule_id and zone and announce:
            schedules.append(
                Schedule(
                    id=schedule_id,
                    timezone=zone,
                    layers=tuple(x for x in layers if x),
                    overrides=tuple(x for x in overrides if x),
                    announce=announce,
                )
            )
    return tuple(schedules), set(seen)


def _timezone(fields: Fields) -> str | None:
    name = fields.text("timezone", expected="expected an IANA time zone such as Europe/Berlin")
    if name is None:
        return None
    try:
        return check_timezone(name)
    except ValueError as exc:
        fields.problems.add(fields.at("timezone"), str(exc))
        return None


def _layer(value: object, path: str, problems: Problems, user_ids: Set[str]) -> Layer | None:
    mark = problems.mark()
    fields = Fields(value, path, problems, LAYER_KEYS, ("participants", "rotation", "start"))
    participants: list[str] = []
    for user, at in fields.items("participants", "user ids", nonempty=True):
        if isinstance(user, str) and user in user_ids:
            participants.append(user)
        else:
            problems.add(at, f"unknown user {_shown(user)}; expected the id of one of users")
    rotation = None
    text = fields.text("rotation", expected=ROTATION_EXPECTED)
    if text is not None:
        try:
            rotation = _with_handoff(fields, parse_rotation(text))
        except ValueError as exc:
            problems.add(fields.at("rotation"), str(exc))
    start = _start(fields)
    if problems.clean_since(mark) and participants and rotation and start:
        return Layer(participants=tuple(participants), rotation=rotation, start=start)
    return None


def _with_handoff(fields: Fields, rotation: Rotation) -> Rotation | None:
    value = fields.data.get("handoff", DEFAULT_HANDOFF[rotation.kind])
    expected = '"Mon 09:00"' if rotation.kind == "weekly" else '"HH:MM"'
    if isinstance(value, int) and not isinstance(value, bool):
        fields.wrong("handoff", f"expected {expected} in quotes (YAML reads an unquoted 9:30 as a number)")
        return None
    if not isinstance(value, str):
        fields.wrong("handoff", f"expected {expected}")
        return None
    try:
        at, weekday = parse_handoff(rotation.kind, value)
    except ValueError as exc:
        fields.problems.add(fields.at("handoff"), str(exc))
        return None
    return Rotation(kind=rotation.kind, hours=rotation.hours, handoff_time=at, handoff_weekday=weekday)


def _start(fields: Fields) -> date | None:
    value = fields.data.get("start")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value.strip())
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if fields.has("start"):
        fields.wrong("start", "expected a date such as 2026-01-05")
    return None


def _override(value: object, path: str, problems: Problems, user_ids: Set[str]) -> Override | None:
    fields = Fields(value, path, problems, ("user", "from", "until"), ("user", "from", "until"))
    user = fields.data.get("user")
    if fields.has("user") and (not isinstance(user, str) or user not in user_ids):
        problems.add(fields.at("user"), f"unknown user {_shown(user)}; expected the id of one of users")
        user = None
    start, end = fields.instant("from"), fields.instant("until")
    if start and end and end <= start:
        problems.add(fields.at("until"), f"{end.isoformat()} is not after from ({start.isoformat()}); expected later")
        return None
    if isinstance(user, str) and start and end:
        return Override(user=user, start=start, end=end)
    return None


def _announce(value: object, path: str, problems: Problems) -> Announce | None:
    if value is None:
        return Announce()
    checks = {
        "slack_channel": (SLACK_CHANNEL, SLACK_CHANNEL_EXPECTED),
        "telegram_chat": (TELEGRAM_CHAT, TELEGRAM_CHAT_EXPECTED),
        "discord_channel": (DISCORD_ID, DISCORD_CHANNEL_EXPECTED),
        "mattermost_channel": (MATTERMOST_ID, MATTERMOST_CHANNEL_EXPECTED),
    }
    fields = Fields(value, path, problems, tuple(checks))
    found = {key: fields.text(key, pattern, expected, numbers=key != "slack_channel")
             for key, (pattern, expected) in checks.items()}
    bad = any(fields.has(key) and found[key] is None for key in checks)
    return None if bad or not fields.ok else Announce(**found)


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else describe(value)
