"""The config's `heartbeats` and `maintenance` sections, and the matcher lists they share with the API."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from store.domain.config_fields import DURATION_EXPECTED, Fields, Problems, check_unique, describe, each_mapping
from store.domain.config_schedules import check_timezone
from store.domain.heartbeats import ALERTNAME, LABEL, MAX_TIMEOUT, MIN_TIMEOUT, MIN_TOKEN, Heartbeat, alert_labels
from store.domain.maintenance import BadRule, Recurrence, Window, check_duration, parse_rule, weekly_rule
from store.domain.matchers import EXPECTED, LABEL_NAME, Matcher, parse_matchers

HEARTBEAT_KEYS = ("id", "timeout", "labels", "token")
MAINTENANCE_KEYS = ("id", "match", "from", "until", "rrule", "weekly", "duration", "timezone", "silence")
TOKEN = re.compile(r"[\x21-\x7e]+")
TOKEN_EXPECTED = f"expected a token of at least {MIN_TOKEN} printable characters without spaces"
API_PREFIX = "mw-"
MATCH_EXPECTED = 'expected a list of one or more matchers such as service="db"'


def read_matchers(values: object, path: str, problems: Problems) -> tuple[Matcher, ...]:
    """A list of matcher texts (each may hold several, as in Alertmanager) read at `path`; at least one."""
    if not isinstance(values, list) or not values:
        problems.add(path, f"got {describe(values) if values != [] else 'an empty list'}; {MATCH_EXPECTED}")
        return ()
    found: list[Matcher] = []
    for index, text in enumerate(values):
        at = f"{path}[{index}]"
        if not isinstance(text, str):
            problems.add(at, f"got {describe(text)}; {EXPECTED}")
            continue
        try:
            found.extend(parse_matchers(text))
        except ValueError as exc:
            problems.add(at, str(exc))
    return tuple(found)


def read_heartbeats(value: object, problems: Problems) -> tuple[Heartbeat, ...]:
    """The `heartbeats` section."""
    heartbeats: list[Heartbeat] = []
    seen: dict[str, str] = {}
    for item, path in each_mapping(value, "heartbeats", problems, "heartbeats"):
        mark = problems.mark()
        fields = Fields(item, path, problems, HEARTBEAT_KEYS, ("id", "timeout"))
        heartbeat_id = fields.identifier("id")
        check_unique(seen, heartbeat_id, fields.at("id"), problems)
        timeout = fields.duration("timeout")
        if timeout is not None and not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
            fields.wrong("timeout", "expected a duration from 5s to 30d")
        labels = _labels(fields)
        token = fields.text("token", TOKEN, TOKEN_EXPECTED)
        if token is not None and len(token) < MIN_TOKEN:
            problems.add(fields.at("token"), f"is {len(token)} characters long; {TOKEN_EXPECTED}")
        if problems.clean_since(mark) and heartbeat_id and timeout is not None:
            heartbeats.append(Heartbeat(heartbeat_id, timeout, alert_labels(heartbeat_id, labels), token))
    return tuple(heartbeats)


def _labels(fields: Fields) -> dict[str, str]:
    value = fields.data.get("labels")
    if value is None:
        return {}
    if not isinstance(value, dict):
        fields.wrong("labels", 'expected a mapping of label names to values such as {severity: critical}')
        return {}
    labels: dict[str, str] = {}
    for name, text in value.items():
        at = f"{fields.at('labels')}.{name}"
        if not isinstance(name, str) or not LABEL_NAME.fullmatch(name):
            fields.problems.add(at, "is not a label name; expected letters, digits and underscores")
        elif name in ("alertname", LABEL):
            fields.problems.add(at, f"is set by Tocsin (alertname {ALERTNAME}, {LABEL}: the id); expected another "
                                    "label")
        elif isinstance(text, bool) or not isinstance(text, str | int | float):
            fields.problems.add(at, f"got {describe(text)}; expected the label's value as text")
        else:
            labels[name] = str(text)
    return labels


def read_maintenance(value: object, problems: Problems) -> tuple[Window, ...]:
    """The `maintenance` section: one-off windows (from, until) and recurring ones (rrule or weekly)."""
    windows: list[Window] = []
    seen: dict[str, str] = {}
    for item, path in each_mapping(value, "maintenance", problems, "maintenance windows"):
        mark = problems.mark()
        fields = Fields(item, path, problems, MAINTENANCE_KEYS, ("id", "match"))
        window_id = fields.identifier("id")
        if window_id and window_id.startswith(API_PREFIX):
            problems.add(fields.at("id"), f"{window_id!r} starts with {API_PREFIX}, which names windows made through "
                                          "the API; expected another id")
        check_unique(seen, window_id, fields.at("id"), problems)
        matchers = read_matchers(fields.data.get("match"), fields.at("match"), problems) if fields.has("match") else ()
        silence = fields.boolean("silence", False)
        recurring = fields.has("rrule") or fields.has("weekly")
        window = _recurring(fields) if recurring else _one_off(fields)
        if problems.clean_since(mark) and window_id and window is not None:
            windows.append(Window(window_id, matchers, window[0], window[1], window[2], silence))
    return tuple(windows)


def _exclusive(fields: Fields, present: Sequence[str], absent: Sequence[str], form: str) -> None:
    for key in absent:
        if fields.has(key):
            fields.problems.add(fields.at(key), f"does not go with {', '.join(present)}; {form}")


ONE_OFF = "expected from and until (RFC 3339 times) for a one-off window"
RECURRING = "expected rrule (or weekly), duration and timezone for a recurring window, and optionally from"


def _one_off(fields: Fields) -> tuple | None:
    _exclusive(fields, ("from", "until"), ("duration", "timezone"), ONE_OFF + ", or rrule for a recurring one")
    for key in ("from", "until"):
        if not fields.has(key):
            fields.problems.add(fields.at(key), f"missing; {ONE_OFF} (or rrule, duration and timezone)")
    start, end = fields.instant("from"), fields.instant("until")
    if start and end and end <= start:
        fields.problems.add(fields.at("until"), f"{end.isoformat()} is not after from ({start.isoformat()}); "
                                                "expected later")
        return None
    return (start, end, None) if start and end else None


def _recurring(fields: Fields) -> tuple | None:
    if fields.has("rrule") and fields.has("weekly"):
        fields.problems.add(fields.at("weekly"), "both rrule and weekly are given; expected one of them")
        return None
    _exclusive(fields, ("rrule",), ("until",), RECURRING + " (an RRULE ends with its own UNTIL or COUNT)")
    for key in ("duration", "timezone"):
        if not fields.has(key):
            fields.problems.add(fields.at(key), f"missing; {RECURRING}")
    duration = _duration(fields)
    zone = fields.text("timezone", expected="expected an IANA time zone such as Europe/Berlin")
    if zone is not None:
        try:
            check_timezone(zone)
        except ValueError as exc:
            fields.problems.add(fields.at("timezone"), str(exc))
            zone = None
    start = fields.instant("from")
    key = "rrule" if fields.has("rrule") else "weekly"
    text = fields.data.get(key)
    try:
        rule = weekly_rule(text) if key == "weekly" else text
        if duration is None or zone is None or (fields.has("from") and start is None):
            parse_rule(rule)  # still say what is wrong with the rule itself
            return None
        anchor = start.astimezone(ZoneInfo(zone)).replace(tzinfo=None) if start else None
        return None, None, Recurrence(rule, zone, duration, anchor)
    except BadRule as exc:
        fields.problems.add(fields.at(key), str(exc))
        return None


def _duration(fields: Fields) -> timedelta | None:
    value = fields.duration("duration")
    if value is None:
        return None
    try:
        return check_duration(value)
    except ValueError as exc:
        fields.wrong("duration", f"{exc} ({DURATION_EXPECTED})")
        return None
