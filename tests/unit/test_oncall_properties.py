"""Property tests of the on-call math around daylight-saving changes (and in a zone without them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from store.domain.oncall import layer_shifts, next_handoff_after, on_call_at, shifts_between
from store.domain.schedule import Layer, Override, Rotation, Schedule, Shift

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
PEOPLE = ("alice", "bob", "carol", "dave", None)
H = timedelta(hours=1)
SECOND = timedelta(seconds=1)
FEW = settings(max_examples=60, deadline=None)


@cache
def changes(zone_name: str) -> tuple[datetime, ...]:
    """The instants (UTC) at which zone's offset changes in 2024-2028, to the second."""
    zone, found = ZoneInfo(zone_name), []
    t, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)
    while t < end:
        nxt = t + timedelta(days=1)
        if t.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = t, nxt
            while hi - lo > SECOND:
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                lo, hi = (mid, hi) if mid.astimezone(zone).utcoffset() == t.astimezone(zone).utcoffset() else (lo, mid)
            found.append(hi)
        t = nxt
    return tuple(found)


@st.composite
def rotations(draw: st.DrawFn, kinds: tuple[str, ...] = ("daily", "weekly", "hourly")) -> Rotation:
    kind = draw(st.sampled_from(kinds))
    # Half the time near the changes' wall times (01:00-03:00 local, on a Sunday) so that gaps and folds are hit.
    at = time(draw(st.one_of(st.integers(0, 23), st.integers(1, 2))), draw(st.sampled_from((0, 15, 30, 45))))
    weekday = draw(st.one_of(st.integers(0, 6), st.just(6)))
    return Rotation(kind, hours=draw(st.integers(1, 36)), handoff_time=at, handoff_weekday=weekday)


@st.composite
def layers(draw: st.DrawFn) -> Layer:
    people = draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4))
    start = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 5 * 366)))
    return Layer(tuple(people), draw(rotations()), start)


@st.composite
def instants_near_changes(draw: st.DrawFn, zone_name: str) -> datetime:
    """An instant within a few days of one of the zone's offset changes (anywhere in 2024-2028 without any)."""
    found = changes(zone_name)
    if not found:
        return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 5 * 366 * 24 * 60)))
    return draw(st.sampled_from(found)) + timedelta(minutes=draw(st.integers(-4 * 24 * 60, 4 * 24 * 60)))


@st.composite
def schedules_and_window(draw: st.DrawFn) -> tuple[Schedule, datetime, datetime]:
    zone_name = draw(st.sampled_from(ZONES))
    a = draw(instants_near_changes(zone_name))
    b = a + timedelta(minutes=draw(st.integers(1, 10 * 24 * 60)))
    overrides = []
    for _ in range(draw(st.integers(0, 2))):
        start = a + timedelta(minutes=draw(st.integers(-2 * 24 * 60, 10 * 24 * 60)))
        end = start + timedelta(minutes=draw(st.integers(1, 3 * 24 * 60)))
        overrides.append(Override(draw(st.sampled_from(PEOPLE[:-1])), start, end))
    chosen = draw(st.lists(layers(), max_size=3))
    return Schedule("s", zone_name, tuple(chosen), tuple(overrides)), a, b


def assert_tiles(shifts: list[Shift], a: datetime, b: datetime) -> None:
    assert shifts, "no shifts"
    assert shifts[0].start == a
    assert shifts[-1].end == b
    for shift in shifts:
        assert shift.start < shift.end
    for before, after in zip(shifts, shifts[1:], strict=False):
        assert before.end == after.start
        assert before.user != after.user, "adjacent shifts of one user are merged"


def is_gap_end(t: datetime, zone: ZoneInfo, wall: time) -> bool:
    """t is where the clock jumps forward over the (skipped) local wall time `wall` on t's local date."""
    before, after = (t - SECOND).astimezone(zone), t.astimezone(zone)
    naive = datetime.combine(after.date(), wall)
    skipped = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive
    return skipped and before.utcoffset() < after.utcoffset() and before.time() < wall < after.time()


@FEW
@given(schedules_and_window())
def test_shifts_tile_the_window_without_gaps_or_overlaps(case: tuple[Schedule, datetime, datetime]) -> None:
    schedule, a, b = case
    assert_tiles(shifts_between(schedule, a, b), a, b)


@FEW
@given(st.sampled_from(ZONES), layers(), st.data())
def test_layer_shifts_start_at_the_local_handoff(zone_name: str, layer: Layer, data: st.DataObject) -> None:
    zone = ZoneInfo(zone_name)
    a = data.draw(instants_near_changes(zone_name))
    b = a + timedelta(days=data.draw(st.integers(1, 30)))
    shifts = layer_shifts(layer, zone, a, b)
    assert shifts[0].start == a and shifts[-1].end == b
    assert all(x.end == y.start for x, y in zip(shifts, shifts[1:], strict=False))
    rotation = layer.rotation
    handoffs = [s.start for s in shifts[1:]]
    if rotation.kind == "hourly":
        assert all(y - x == rotation.hours * H for x, y in zip(handoffs, handoffs[1:], strict=False))
        return
    for start in handoffs:
        local = start.astimezone(zone)
        assert local.time() == rotation.handoff_time or is_gap_end(start, zone, rotation.handoff_time)
        assert local.fold == 0, "an ambiguous handoff is its first occurrence"
        if rotation.kind == "weekly":
            assert local.weekday() == rotation.handoff_weekday
    days = 7 if rotation.kind == "weekly" else 1
    dates = [s.astimezone(zone).date() for s in handoffs]
    assert all((y - x).days == days for x, y in zip(dates, dates[1:], strict=False))


@FEW
@given(schedules_and_window(), st.data())
def test_on_call_at_agrees_with_shifts_between(case: tuple[Schedule, datetime, datetime], data: st.DataObject) -> None:
    schedule, a, b = case
    t = a + (b - a) * data.draw(st.floats(0, 1, exclude_max=True))
    around = shifts_between(schedule, t - timedelta(days=3), t + timedelta(days=3))
    containing = next(s for s in around if s.start <= t < s.end)
    shift = on_call_at(schedule, t)
    assert shift.user == containing.user
    assert shift.start <= containing.start and containing.end <= shift.end
    if containing.start > around[0].start:
        assert shift.start == containing.start
    if containing.end < around[-1].end:
        assert shift.end == containing.end
        assert next_handoff_after(schedule, t) == containing.end


@FEW
@given(
    rotations(kinds=("weekly",)).filter(lambda r: r.handoff_time.hour != 2),
    st.lists(st.sampled_from(PEOPLE[:-1]), min_size=1, max_size=3),
    st.data(),
)
def test_berlin_weeks_are_168_hours_except_across_a_change(
    rotation: Rotation, people: list[str], data: st.DataObject
) -> None:
    zone = ZoneInfo("Europe/Berlin")
    layer = Layer(tuple(people), rotation, date(2025, 1, 1) + timedelta(days=data.draw(st.integers(0, 700))))
    a = data.draw(instants_near_changes("Europe/Berlin")) - timedelta(days=7)
    full = layer_shifts(layer, zone, a, a + timedelta(days=22))[1:-1]  # whole shifts only
    assert len(full) >= 2
    for shift in full:
        change = shift.end.astimezone(zone).utcoffset() - shift.start.astimezone(zone).utcoffset()
        expected = {timedelta(0): 168 * H, H: 167 * H, -H: 169 * H}[change]
        assert shift.end - shift.start == expected


@FEW
@given(st.sampled_from(ZONES[:3]), st.data())
def test_daily_handoffs_at_the_changes_wall_times(zone_name: str, data: st.DataObject) -> None:
    zone = ZoneInfo(zone_name)
    change = data.draw(st.sampled_from(changes(zone_name)))
    # Wall times near the change read with the offset before or after it: these fall in the gap or the fold.
    offset = data.draw(st.sampled_from((change - SECOND, change))).astimezone(zone).utcoffset()
    wall = (change + offset + timedelta(minutes=data.draw(st.integers(-6, 6)) * 15)).time()
    people = tuple(data.draw(st.lists(st.sampled_from(PEOPLE[:-1]), min_size=1, max_size=3)))
    layer = Layer(people, Rotation("daily", handoff_time=wall), date(2024, 1, 1))
    shifts = layer_shifts(layer, zone, change - timedelta(days=3), change + timedelta(days=3))
    for shift in shifts[1:]:
        local = shift.start.astimezone(zone)
        assert (local.time() == wall and local.fold == 0) or is_gap_end(shift.start, zone, wall)
    assert all(x.end == y.start and x.start < x.end for x, y in zip(shifts, shifts[1:], strict=False))
