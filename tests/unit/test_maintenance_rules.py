"""Maintenance windows: RRULE expansion across daylight-saving changes, matching, and what the config refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.domain.config_schema import ConfigError, parse_config
from store.domain.maintenance import BadRule, Recurrence, Window, parse_rule, weekly_rule, window_for
from store.domain.matchers import parse_matchers

# Zones with daylight saving in either hemisphere, a 30-minute change (Lord Howe) and 45-minute offsets.
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Europe/London", "Pacific/Auckland",
         "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "UTC")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
instants = st.datetimes(min_value=datetime(2024, 2, 1), max_value=datetime(2030, 12, 31),
                        timezones=st.just(UTC))


def exists(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether a naive wall-clock time happens in the zone (it is not skipped by a change)."""
    there = wall.replace(tzinfo=zone)
    return there.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def reference_weekly(weekday: int, hour: int, minute: int, zone: ZoneInfo, duration: timedelta,
                     moment: datetime) -> tuple[datetime, datetime] | None:
    """The occurrence in force at `moment`, computed by walking days (the rule's plain meaning)."""
    local_day = moment.astimezone(zone).date()
    found = None
    for back in range(0, 40):
        day = local_day - timedelta(days=back)
        if day.weekday() != weekday:
            continue
        wall = datetime(day.year, day.month, day.day, hour, minute)
        start = wall.replace(tzinfo=zone).astimezone(UTC)
        if start <= moment < start + duration and (found is None or start > found[0]):
            found = (start, start + duration)
    return found


@settings(max_examples=300, deadline=None)
@given(instants, st.sampled_from(ZONES), st.integers(0, 6), st.integers(0, 23), st.sampled_from([0, 15, 30, 45]),
       st.integers(1, 72 * 60))
def test_weekly_occurrence_at_any_instant_matches_walking_the_calendar(
    moment: datetime, zone: str, weekday: int, hour: int, minute: int, minutes: int
) -> None:
    duration = timedelta(minutes=minutes)
    recurrence = Recurrence(weekly_rule(f"{DAYS[weekday]} {hour:02d}:{minute:02d}"), zone, duration)
    assert recurrence.occurrence_at(moment) == reference_weekly(weekday, hour, minute, ZoneInfo(zone), duration,
                                                                 moment)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ZONES), st.integers(0, 23), st.sampled_from([0, 30]), st.integers(2024, 2029))
def test_daily_starts_keep_their_wall_clock_time_across_the_changes_of_a_year(
    zone: str, hour: int, minute: int, year: int
) -> None:
    tz = ZoneInfo(zone)
    recurrence = Recurrence(f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute};BYSECOND=0", zone, timedelta(hours=1))
    starts = recurrence.starts_between(datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))
    assert 364 <= len(starts) <= 367
    assert starts == sorted(set(starts))
    for start in starts:
        local = start.astimezone(tz)
        wall = datetime(local.year, local.month, local.day, hour, minute)
        if exists(wall, tz) or (local.hour, local.minute) == (hour, minute):
            assert (local.hour, local.minute) == (hour, minute), start
        else:  # skipped by the spring change: the same instant as that wall time before the change
            assert start == wall.replace(tzinfo=tz).astimezone(UTC)
    for earlier, later in zip(starts, starts[1:], strict=False):
        assert timedelta(hours=22) <= later - earlier <= timedelta(hours=26)


@settings(max_examples=60, deadline=None)
@given(st.lists(instants, min_size=2, max_size=12), st.sampled_from(ZONES),
       st.sampled_from(["FREQ=HOURLY;BYMINUTE=10", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA",
                        "FREQ=MONTHLY;BYDAY=1SU;BYHOUR=3", "FREQ=MONTHLY;BYMONTHDAY=31;BYHOUR=1"]))
def test_the_cache_never_changes_an_answer(moments: list[datetime], zone: str, rule: str) -> None:
    """One recurrence asked about instants in any order answers as a fresh one would."""
    kept = Recurrence(rule, zone, timedelta(hours=3))
    for moment in moments:
        fresh = Recurrence(rule, zone, timedelta(hours=3))
        assert kept.occurrence_at(moment) == fresh.occurrence_at(moment)


@settings(max_examples=40, deadline=None)
@given(instants, st.sampled_from(ZONES),
       st.sampled_from(["FREQ=DAILY;INTERVAL=3;BYHOUR=2;BYMINUTE=30", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU;BYHOUR=23",
                        "FREQ=DAILY;BYDAY=MO,FR;BYHOUR=4", "FREQ=HOURLY;INTERVAL=5;BYMINUTE=0"]))
def test_starting_near_the_instant_keeps_the_rules_phase(moment: datetime, zone: str, rule: str) -> None:
    """Occurrences found from a start near the instant are those found walking from the rule's own start."""
    recurrence = Recurrence(rule, zone, timedelta(hours=3))
    tz = ZoneInfo(zone)
    lo, hi = moment - timedelta(days=3), moment + timedelta(days=3)
    walked = recurrence.rule.between(lo.astimezone(tz).replace(tzinfo=None) - timedelta(days=2),
                                     hi.astimezone(tz).replace(tzinfo=None) + timedelta(days=2), inc=True)
    expected = sorted({w.replace(tzinfo=tz).astimezone(UTC) for w in walked})
    assert recurrence.starts_between(lo, hi) == [s for s in expected if lo <= s <= hi]


def test_spring_forward_and_fall_back_in_berlin() -> None:
    sunday_0230 = Recurrence(weekly_rule("Sun 02:30"), "Europe/Berlin", timedelta(hours=1))
    # 2026-03-29: 02:00 becomes 03:00, so 02:30 does not exist; the window starts at 03:30 summer time.
    assert sunday_0230.occurrence_at(datetime(2026, 3, 29, 1, 45, tzinfo=UTC)) == (
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC), datetime(2026, 3, 29, 2, 30, tzinfo=UTC))
    # 2026-10-25: 03:00 becomes 02:00, so 02:30 happens twice; the window starts at the first (summer time).
    assert sunday_0230.occurrence_at(datetime(2026, 10, 25, 0, 40, tzinfo=UTC)) == (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    # A 4-hour window over the change lasts 4 hours of elapsed time.
    night = Recurrence(weekly_rule("Sun 00:00"), "Europe/Berlin", timedelta(hours=4))
    start, end = night.occurrence_at(datetime(2026, 10, 25, 1, 59, tzinfo=UTC)) or (None, None)
    assert start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC) and end - start == timedelta(hours=4)


def test_one_off_window_and_matching() -> None:
    window = Window("db", tuple(parse_matchers('service="db"')), datetime(2026, 1, 1, tzinfo=UTC),
                    datetime(2026, 1, 1, 2, tzinfo=UTC))
    assert window.current(datetime(2026, 1, 1, 1, tzinfo=UTC)) is not None
    assert window.current(datetime(2026, 1, 1, 2, tzinfo=UTC)) is None
    assert window.matches({"service": "db", "severity": "critical"}) and not window.matches({"service": "web"})
    other = Window("web", tuple(parse_matchers('service="web"')), window.starts_at, window.ends_at)
    assert window_for([window, other], [{"service": "db"}, {"service": "web"}]) is window
    assert window_for([window], [{"service": "db"}, {"service": "api"}]) is None  # one alert is not covered
    assert window_for([window], []) is None


@pytest.mark.parametrize(("rule", "expected"), [
    ("FREQ=MINUTELY", "FREQ=MINUTELY is not usable"),
    ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "never occurs"),
    ("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31;COUNT=3", "never occurs"),
    ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", "INTERVAL above 1"),
    ("FREQ=WEEKLY;BYSETPOS=1;BYDAY=MO", "BYSETPOS is only supported"),
    ("FREQ=WEEKLY;BYDAY=XX", "invalid 'BYDAY'"),
    ("FREQ=DAILY;UNTIL=20300101T000000Z", "UNTIL ends with Z"),
    ("FREQ=DAILY\nFREQ=WEEKLY", "not one RRULE line"),
    ("FREQ=DAILY;BYEASTER=0", "BYEASTER is not supported"),
    ("FREQ=DAILY;FREQ=WEEKLY", "given twice"),
    ("FREQ=DAILY;COUNT=0", "COUNT=0 is not usable"),
])
def test_unusable_rules_are_refused_quickly_with_a_reason(rule: str, expected: str) -> None:
    with pytest.raises(BadRule, match=expected):
        parse_rule(rule)


def test_weekly_shorthand() -> None:
    assert weekly_rule("Sat 02:00") == "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0;BYSECOND=0"
    assert weekly_rule("sunday 23:45") == "FREQ=WEEKLY;BYDAY=SU;BYHOUR=23;BYMINUTE=45;BYSECOND=0"
    for bad in ("Someday 02:00", "Sat 24:00", "02:00", "S 02:00"):
        with pytest.raises(BadRule, match="weekday and a time"):
            weekly_rule(bad)


def problems(section: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(section)
    return caught.value.lines("tocsin.yml")


def test_bad_windows_are_refused_one_line_each_naming_the_key() -> None:
    lines = problems({"maintenance": [
        {"id": "a", "match": ['service=~"("'], "rrule": "FREQ=DAILY", "duration": "2x", "timezone": "Mars/Base"},
        {"id": "b", "match": [], "from": "2026-01-01", "until": "2026-01-02T00:00:00Z"},
        {"id": "c", "match": ['a="b"'], "from": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"id": "d", "match": ['a="b"'], "weekly": "Someday", "duration": "1h", "timezone": "UTC"},
        {"id": "e", "match": ['a="b"'], "rrule": "FREQ=DAILY", "weekly": "Sat 02:00", "duration": "1h",
         "timezone": "UTC"},
        {"id": "f", "match": ['a="b"'], "rrule": "FREQ=DAILY", "duration": "40d", "timezone": "UTC"},
        {"id": "a", "match": ['a="b"'], "from": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z"},
    ]})
    assert lines == [
        "tocsin.yml: maintenance[0].match[0]: invalid regex '(' (missing ), unterminated subpattern at position 0); "
        "expected an RE2 regular expression",
        "tocsin.yml: maintenance[0].duration: got the text '2x'; expected a duration such as 30s, 15m, 2h, 1d or 1h30m",
        "tocsin.yml: maintenance[0].timezone: unknown time zone 'Mars/Base'; expected an IANA time zone such as "
        "Europe/Berlin",
        "tocsin.yml: maintenance[1].match: got an empty list; expected a list of one or more matchers such as "
        'service="db"',
        'tocsin.yml: maintenance[1].from: got the text \'2026-01-01\'; expected an RFC 3339 time with its offset such '
        'as "2026-12-24T18:00:00+01:00"',
        "tocsin.yml: maintenance[2].until: 2026-01-01T00:00:00+00:00 is not after from (2026-01-02T00:00:00+00:00); "
        "expected later",
        "tocsin.yml: maintenance[3].weekly: 'Someday' is not a weekly time; expected a weekday and a time such as "
        '"Sat 02:00"',
        "tocsin.yml: maintenance[4].weekly: both rrule and weekly are given; expected one of them",
        "tocsin.yml: maintenance[5].duration: got the text '40d'; expected a duration from 1m to 31d (expected a "
        "duration such as 30s, 15m, 2h, 1d or 1h30m)",
        "tocsin.yml: maintenance[6].id: duplicate id 'a' (also at maintenance[0].id); expected each id once",
    ]


def test_good_windows_are_read() -> None:
    config = parse_config({"maintenance": [
        {"id": "saturday-db", "match": ['service="db"'], "weekly": "Sat 02:00", "duration": "2h",
         "timezone": "Europe/Berlin", "silence": True},
        {"id": "fortnightly", "match": ['team="web"', 'env!="prod"'],
         "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=22;BYMINUTE=0", "duration": "90m",
         "timezone": "America/New_York", "from": "2026-01-06T22:00:00-05:00"},
        {"id": "migration", "match": ['cluster="eu-1"'], "from": "2026-12-01T20:00:00+01:00",
         "until": "2026-12-01T23:00:00+01:00"},
    ]})
    saturday, fortnightly, migration = config.maintenance
    assert saturday.silence and saturday.current(datetime(2026, 1, 3, 1, 30, tzinfo=UTC))  # 02:30 in Berlin
    assert fortnightly.current(datetime(2026, 1, 7, 3, 30, tzinfo=UTC))  # Tue 6 Jan 22:30 in New York
    assert not fortnightly.current(datetime(2026, 1, 14, 3, 30, tzinfo=UTC))  # the week between
    assert fortnightly.current(datetime(2026, 1, 21, 3, 30, tzinfo=UTC))
    assert migration.next_period(datetime(2026, 11, 1, tzinfo=UTC)) == (
        datetime(2026, 12, 1, 19, tzinfo=UTC), datetime(2026, 12, 1, 22, tzinfo=UTC))
    assert [m.name for m in fortnightly.matchers] == ["team", "env"]
