"""Worked examples of the on-call math: rotations across DST, layers, overrides, start dates in the future."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from store.domain.oncall import (
    layer_shifts,
    local_instant,
    next_handoff_after,
    on_call_at,
    shifts_between,
)
from store.domain.schedule import Layer, Override, Rotation, Schedule, Shift

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")
H = timedelta(hours=1)


def at(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    """A local wall time in zone, as an aware datetime."""
    return datetime(*parts, tzinfo=zone, fold=fold)


def weekly(*people: str | None, start: date, weekday: int = 0, hh: int = 9, mm: int = 0) -> Layer:
    return Layer(tuple(people), Rotation("weekly", handoff_time=time(hh, mm), handoff_weekday=weekday), start)


def daily(*people: str | None, start: date, hh: int = 9, mm: int = 0) -> Layer:
    return Layer(tuple(people), Rotation("daily", handoff_time=time(hh, mm)), start)


def hourly(*people: str | None, hours: int, start: date, hh: int = 9, mm: int = 0) -> Layer:
    return Layer(tuple(people), Rotation("hourly", hours=hours, handoff_time=time(hh, mm)), start)


def schedule(zone: ZoneInfo, *layers: Layer, overrides: tuple[Override, ...] = ()) -> Schedule:
    return Schedule("primary", zone.key, layers, overrides)


def spans(shifts: list[Shift], zone: ZoneInfo) -> list[tuple[str | None, datetime, datetime]]:
    return [(s.user, s.start.astimezone(zone), s.end.astimezone(zone)) for s in shifts]


# --- local wall times ---------------------------------------------------------------------------------


def test_existing_wall_time_is_taken_as_is() -> None:
    assert local_instant(date(2026, 7, 1), time(9), BERLIN) == datetime(2026, 7, 1, 7, tzinfo=UTC)


def test_wall_time_in_the_spring_gap_is_the_end_of_the_gap() -> None:
    assert local_instant(date(2026, 3, 29), time(2, 30), BERLIN) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert local_instant(date(2026, 3, 8), time(2, 0), NEW_YORK) == datetime(2026, 3, 8, 7, tzinfo=UTC)
    # Lord Howe skips 02:00-02:30 only
    assert local_instant(date(2026, 10, 4), time(2, 15), LORD_HOWE) == datetime(2026, 10, 3, 15, 30, tzinfo=UTC)


def test_ambiguous_wall_time_is_its_first_occurrence() -> None:
    assert local_instant(date(2026, 10, 25), time(2, 30), BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert local_instant(date(2026, 11, 1), time(1, 30), NEW_YORK) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert local_instant(date(2026, 4, 5), time(1, 45), LORD_HOWE) == datetime(2026, 4, 4, 14, 45, tzinfo=UTC)


# --- rotations across DST -----------------------------------------------------------------------------


def test_weekly_berlin_across_the_march_change_is_167_hours() -> None:
    layer = weekly("alice", "bob", start=date(2026, 1, 5))
    shifts = layer_shifts(layer, BERLIN, at(BERLIN, 2026, 3, 16, 9), at(BERLIN, 2026, 4, 6, 9))
    assert spans(shifts, BERLIN) == [
        ("alice", at(BERLIN, 2026, 3, 16, 9), at(BERLIN, 2026, 3, 23, 9)),
        ("bob", at(BERLIN, 2026, 3, 23, 9), at(BERLIN, 2026, 3, 30, 9)),
        ("alice", at(BERLIN, 2026, 3, 30, 9), at(BERLIN, 2026, 4, 6, 9)),
    ]
    assert [s.end - s.start for s in shifts] == [168 * H, 167 * H, 168 * H]


def test_weekly_berlin_across_the_october_change_is_169_hours() -> None:
    layer = weekly("alice", "bob", start=date(2026, 1, 5))
    shifts = layer_shifts(layer, BERLIN, at(BERLIN, 2026, 10, 19, 9), at(BERLIN, 2026, 11, 2, 9))
    assert [(s.user, s.end - s.start) for s in shifts] == [("bob", 169 * H), ("alice", 168 * H)]
    assert shifts[0].end.astimezone(BERLIN).time() == time(9)


def test_weekly_handoff_on_sunday_in_the_gap_starts_at_the_gap_end() -> None:
    layer = weekly("alice", "bob", start=date(2026, 1, 4), weekday=6, hh=2, mm=30)
    shifts = layer_shifts(layer, BERLIN, at(BERLIN, 2026, 3, 22, 12), at(BERLIN, 2026, 4, 6))
    starts = [s.start.astimezone(BERLIN) for s in shifts[1:]]
    assert starts == [at(BERLIN, 2026, 3, 29, 3), at(BERLIN, 2026, 4, 5, 2, 30)]
    assert shifts[1].start - at(BERLIN, 2026, 3, 22, 2, 30) == 168 * H - 30 * timedelta(minutes=1)


def test_daily_new_york_is_23_and_25_hours_across_the_changes() -> None:
    layer = daily("ann", "ben", "cid", start=date(2026, 3, 1), hh=8)
    march = layer_shifts(layer, NEW_YORK, at(NEW_YORK, 2026, 3, 7, 8), at(NEW_YORK, 2026, 3, 9, 8))
    assert [(s.user, s.end - s.start) for s in march] == [("ann", 23 * H), ("ben", 24 * H)]
    november = layer_shifts(layer, NEW_YORK, at(NEW_YORK, 2026, 10, 31, 8), at(NEW_YORK, 2026, 11, 2, 8))
    assert [s.end - s.start for s in november] == [25 * H, 24 * H]
    assert all(s.start.astimezone(NEW_YORK).time() == time(8) for s in march + november)


def test_daily_new_york_handoff_at_1_30_uses_the_first_occurrence_on_fall_back_day() -> None:
    layer = daily("ann", "ben", start=date(2026, 10, 1), hh=1, mm=30)
    shifts = layer_shifts(layer, NEW_YORK, at(NEW_YORK, 2026, 10, 31, 12), at(NEW_YORK, 2026, 11, 2, 12))
    assert shifts[1].start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert shifts[1].end - shifts[1].start == 25 * H


def test_daily_lord_howe_is_23_5_and_24_5_hours() -> None:
    layer = daily("kim", "lee", start=date(2026, 1, 1), hh=9)
    october = layer_shifts(layer, LORD_HOWE, at(LORD_HOWE, 2026, 10, 3, 9), at(LORD_HOWE, 2026, 10, 4, 9))
    april = layer_shifts(layer, LORD_HOWE, at(LORD_HOWE, 2026, 4, 4, 9), at(LORD_HOWE, 2026, 4, 5, 9))
    assert [s.end - s.start for s in october + april] == [23.5 * H, 24.5 * H]


def test_daily_kolkata_is_always_24_hours_at_the_half_hour_offset() -> None:
    layer = daily("raj", "sam", start=date(2026, 1, 1), hh=10)
    shifts = layer_shifts(layer, KOLKATA, at(KOLKATA, 2026, 3, 1, 10), at(KOLKATA, 2026, 12, 1, 10))
    assert {s.end - s.start for s in shifts} == {24 * H}
    assert shifts[0].start == datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


def test_12h_rotation_keeps_12_elapsed_hours_across_dst() -> None:
    layer = hourly("day", "night", hours=12, start=date(2026, 3, 1), hh=8)
    shifts = layer_shifts(layer, BERLIN, at(BERLIN, 2026, 3, 28, 8), at(BERLIN, 2026, 3, 30, 9))
    assert {s.end - s.start for s in shifts} == {12 * H}
    assert [(s.user, s.start.astimezone(BERLIN).hour) for s in shifts] == [
        ("day", 8), ("night", 20), ("day", 9), ("night", 21)
    ]


def test_hourly_first_shift_begins_at_the_handoff_on_the_start_date() -> None:
    layer = hourly("p0", "p1", "p2", hours=5, start=date(2026, 6, 1), hh=9)  # 09:00, 14:00 ... and 04:00 before
    sched = schedule(BERLIN, layer)
    assert on_call_at(sched, at(BERLIN, 2026, 6, 1, 9, 30)) == Shift(
        "p0", at(BERLIN, 2026, 6, 1, 9).astimezone(UTC), at(BERLIN, 2026, 6, 1, 14).astimezone(UTC)
    )
    assert on_call_at(sched, at(BERLIN, 2026, 6, 1, 4)).user == "p2"
    assert on_call_at(sched, at(BERLIN, 2026, 6, 1, 3, 59)).user == "p1"


def test_daily_handoff_after_midnight_on_start_day_is_the_first_shift() -> None:
    sched = schedule(BERLIN, daily("a", "b", start=date(2026, 6, 1), hh=9))
    assert on_call_at(sched, at(BERLIN, 2026, 6, 1, 9)).user == "a"
    assert on_call_at(sched, at(BERLIN, 2026, 6, 1, 8, 59)).user == "b"


def test_start_date_in_the_future_cycles_backwards() -> None:
    sched = schedule(BERLIN, weekly("a", "b", "c", start=date(2027, 1, 6), weekday=0))  # a Wednesday
    first_monday = at(BERLIN, 2027, 1, 11, 9)
    assert on_call_at(sched, first_monday).user == "a"
    assert on_call_at(sched, first_monday - timedelta(days=1)).user == "c"
    assert on_call_at(sched, first_monday - timedelta(days=8)).user == "b"
    assert on_call_at(sched, first_monday - timedelta(days=15)).user == "a"


def test_far_away_instants_are_computed_directly() -> None:
    sched = schedule(BERLIN, daily("a", "b", "c", start=date(2026, 1, 1), hh=9))
    # 2026-01-01 + 365 * 500 + 121 days: index known arithmetically
    far = at(BERLIN, 2525, 12, 1, 12)
    n = (date(2525, 12, 1) - date(2026, 1, 1)).days
    assert on_call_at(sched, far).user == "abc"[n % 3]
    assert on_call_at(sched, at(BERLIN, 1600, 6, 1, 12)).user == "abc"[(date(1600, 6, 1) - date(2026, 1, 1)).days % 3]


# --- layers and overrides -----------------------------------------------------------------------------


def test_later_layer_wins_only_while_it_has_someone() -> None:
    base = weekly("bob", "alice", start=date(2026, 1, 5))
    # carol 20:00-08:00 (elapsed-time grid anchored in summer time), nobody by day
    nights = hourly("carol", None, hours=12, start=date(2026, 5, 4), hh=20)
    sched = schedule(BERLIN, base, nights)
    got = spans(shifts_between(sched, at(BERLIN, 2026, 6, 1, 9), at(BERLIN, 2026, 6, 2, 9)), BERLIN)
    assert got == [
        ("alice", at(BERLIN, 2026, 6, 1, 9), at(BERLIN, 2026, 6, 1, 20)),
        ("carol", at(BERLIN, 2026, 6, 1, 20), at(BERLIN, 2026, 6, 2, 8)),
        ("alice", at(BERLIN, 2026, 6, 2, 8), at(BERLIN, 2026, 6, 2, 9)),
    ]
    noon = on_call_at(sched, at(BERLIN, 2026, 6, 2, 12))
    assert spans([noon], BERLIN) == [("alice", at(BERLIN, 2026, 6, 2, 8), at(BERLIN, 2026, 6, 2, 20))]
    assert next_handoff_after(sched, at(BERLIN, 2026, 6, 2, 12)) == at(BERLIN, 2026, 6, 2, 20)


def test_nobody_on_call_without_layers_or_when_every_slot_is_empty() -> None:
    for sched in (schedule(BERLIN), schedule(BERLIN, daily(None, start=date(2026, 1, 1)))):
        shifts = shifts_between(sched, at(BERLIN, 2026, 6, 1), at(BERLIN, 2026, 6, 8))
        assert [s.user for s in shifts] == [None]
        assert on_call_at(sched, at(BERLIN, 2026, 6, 1)).user is None
        assert next_handoff_after(sched, at(BERLIN, 2026, 6, 1)) is None


def test_override_cuts_across_a_handoff() -> None:
    carol = Override("carol", at(BERLIN, 2026, 6, 3, 18), at(BERLIN, 2026, 6, 9, 12))
    sched = schedule(BERLIN, weekly("alice", "bob", start=date(2026, 1, 5)), overrides=(carol,))
    got = spans(shifts_between(sched, at(BERLIN, 2026, 6, 1, 9), at(BERLIN, 2026, 6, 15, 9)), BERLIN)
    assert got == [
        ("bob", at(BERLIN, 2026, 6, 1, 9), at(BERLIN, 2026, 6, 3, 18)),
        ("carol", at(BERLIN, 2026, 6, 3, 18), at(BERLIN, 2026, 6, 9, 12)),
        ("alice", at(BERLIN, 2026, 6, 9, 12), at(BERLIN, 2026, 6, 15, 9)),
    ]


def test_override_for_the_person_on_call_merges_and_later_override_wins() -> None:
    overrides = (
        Override("alice", at(BERLIN, 2026, 6, 15, 9), at(BERLIN, 2026, 6, 17, 9)),  # extends alice's week
        Override("dave", at(BERLIN, 2026, 6, 2, 0), at(BERLIN, 2026, 6, 3, 0)),
        Override("erin", at(BERLIN, 2026, 6, 2, 12), at(BERLIN, 2026, 6, 2, 13)),  # inside dave's, listed later
    )
    sched = schedule(BERLIN, weekly("bob", "alice", start=date(2026, 1, 5)), overrides=overrides)
    got = spans(shifts_between(sched, at(BERLIN, 2026, 6, 1, 9), at(BERLIN, 2026, 6, 22, 9)), BERLIN)
    assert got == [
        ("alice", at(BERLIN, 2026, 6, 1, 9), at(BERLIN, 2026, 6, 2, 0)),
        ("dave", at(BERLIN, 2026, 6, 2, 0), at(BERLIN, 2026, 6, 2, 12)),
        ("erin", at(BERLIN, 2026, 6, 2, 12), at(BERLIN, 2026, 6, 2, 13)),
        ("dave", at(BERLIN, 2026, 6, 2, 13), at(BERLIN, 2026, 6, 3, 0)),
        ("alice", at(BERLIN, 2026, 6, 3, 0), at(BERLIN, 2026, 6, 8, 9)),
        ("bob", at(BERLIN, 2026, 6, 8, 9), at(BERLIN, 2026, 6, 15, 9)),
        ("alice", at(BERLIN, 2026, 6, 15, 9), at(BERLIN, 2026, 6, 22, 9)),
    ]


def test_override_over_nobody_and_its_span() -> None:
    sched = schedule(BERLIN, overrides=(Override("zoe", at(BERLIN, 2026, 12, 24, 18), at(BERLIN, 2026, 12, 27, 9)),))
    shift = on_call_at(sched, at(BERLIN, 2026, 12, 25, 12))
    assert spans([shift], BERLIN) == [("zoe", at(BERLIN, 2026, 12, 24, 18), at(BERLIN, 2026, 12, 27, 9))]
    assert next_handoff_after(sched, at(BERLIN, 2026, 12, 20)) == at(BERLIN, 2026, 12, 24, 18)


def test_single_person_layer_span_is_cut_at_the_horizon() -> None:
    from store.domain.oncall import HORIZON

    t = at(BERLIN, 2026, 6, 1, 12)
    shift = on_call_at(schedule(BERLIN, daily("solo", start=date(2026, 1, 1))), t)
    assert (shift.user, shift.start, shift.end) == ("solo", t - HORIZON, t + HORIZON)


def test_next_handoff_weekly() -> None:
    sched = schedule(BERLIN, weekly("alice", "bob", start=date(2026, 1, 5)))
    assert next_handoff_after(sched, at(BERLIN, 2026, 3, 25)) == at(BERLIN, 2026, 3, 30, 9)
    assert next_handoff_after(sched, at(BERLIN, 2026, 3, 30, 9)) == at(BERLIN, 2026, 4, 6, 9)


def test_shift_datetimes_are_utc_and_naive_input_is_refused() -> None:
    sched = schedule(BERLIN, daily("a", "b", start=date(2026, 1, 1)))
    assert all(s.start.tzinfo is UTC for s in shifts_between(sched, at(BERLIN, 2026, 1, 1), at(BERLIN, 2026, 1, 5)))
    with pytest.raises(ValueError, match="naive datetime"):
        on_call_at(sched, datetime(2026, 1, 1))
    assert shifts_between(sched, at(BERLIN, 2026, 1, 5), at(BERLIN, 2026, 1, 1)) == []


@pytest.mark.parametrize(
    ("rotation", "message"),
    [
        (Rotation("monthly"), "rotation kind 'monthly'"),
        (Rotation("hourly", hours=0), "expected a positive number of hours"),
        (Rotation("weekly", handoff_weekday=7), "expected 0 \\(Monday\\) to 6"),
    ],
)
def test_bad_rotation_is_refused(rotation: Rotation, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layer_shifts(Layer(("a",), rotation, date(2026, 1, 1)), BERLIN, at(BERLIN, 2026, 1, 1), at(BERLIN, 2026, 1, 2))


def test_a_later_layer_always_on_call_hides_the_earlier_ones() -> None:
    busy = hourly("a", "b", hours=1, start=date(2026, 1, 1))
    sched = schedule(BERLIN, busy, daily("solo", start=date(2026, 1, 1)))
    t = at(BERLIN, 2026, 6, 1, 12)
    assert shifts_between(sched, t, t + timedelta(days=30)) == [Shift("solo", t.astimezone(UTC), (t + 30 * 24 * H))]
    assert next_handoff_after(sched, t) is None
    with pytest.raises(ValueError, match="rotation kind"):
        shifts_between(schedule(BERLIN, Layer(("x",), Rotation("yearly"), date(2026, 1, 1))), t, t + H)


def test_a_skipped_local_day_hands_over_at_the_end_of_the_gap() -> None:
    apia = ZoneInfo("Pacific/Apia")  # 2011-12-30 did not happen in Samoa
    layer = daily("a", "b", start=date(2011, 12, 1))
    shifts = layer_shifts(layer, apia, at(apia, 2011, 12, 29, 12), at(apia, 2012, 1, 1))
    assert spans(shifts, apia)[1:] == [
        ("b", at(apia, 2011, 12, 31, 0), at(apia, 2011, 12, 31, 9)),
        ("a", at(apia, 2011, 12, 31, 9), at(apia, 2012, 1, 1)),
    ]
