"""The hand-written iCalendar renderer: escaping, folding at 75 octets, CRLF, parsed back by icalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import icalendar
from hypothesis import given
from hypothesis import strategies as st

from store.domain.ical import escape_text, feed_shifts, fold, render_calendar
from store.domain.schedule import Layer, Rotation, Schedule, Shift

NOW = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)
SCHEDULE = Schedule(
    id="primary",
    timezone="Europe/Berlin",
    layers=(Layer(("alice", "bob"), Rotation("daily", handoff_time=time(9)), date(2026, 11, 23)),),
)


def test_escape_text() -> None:
    assert escape_text("a\\b;c,d\ne") == "a\\\\b\\;c\\,d\\ne"


def test_fold_counts_octets_and_never_splits_a_character() -> None:
    line = "SUMMARY:" + "é" * 80
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line
    assert fold("SHORT:x") == "SHORT:x"


@given(st.text(min_size=1, max_size=300).filter(lambda s: "\r" not in s))
def test_any_name_survives_a_round_trip(name: str) -> None:
    shift = Shift("alice", datetime(2026, 11, 26, 8, tzinfo=UTC), datetime(2026, 11, 27, 8, tzinfo=UTC))
    text = render_calendar(SCHEDULE, [shift], {"alice": name}, NOW)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    (event,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(event["SUMMARY"]) == f"On call: {name}"
    assert event.decoded("DTSTART") == shift.start and event.decoded("DTEND") == shift.end


def test_calendar_lines_end_in_crlf_and_each_event_has_uid_and_dtstamp() -> None:
    text = render_calendar(SCHEDULE, feed_shifts(SCHEDULE, NOW), {}, NOW)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    events = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert len(events) == 71  # daily shifts over ten weeks, the window starting and ending mid-shift
    assert all("UID" in e and e.decoded("DTSTAMP") == NOW for e in events)


def test_feed_leaves_out_time_with_nobody_on_call() -> None:
    gaps = Schedule(id="gaps", timezone="UTC", layers=(Layer(("alice", ""), Rotation("daily"), date(2026, 11, 23)),))
    shifts = feed_shifts(gaps, NOW)
    assert shifts and all(s.user == "alice" for s in shifts)


def test_feed_of_a_schedule_that_never_hands_over_is_one_event() -> None:
    always = Schedule(id="solo", timezone="UTC", layers=(Layer(("alice",), Rotation("weekly"), date(2026, 1, 5)),))
    (shift,) = feed_shifts(always, NOW)
    assert shift.user == "alice" and shift.start < NOW < shift.end
