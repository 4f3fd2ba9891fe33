"""Overrides made without the file, as pure values: merged after the file's, told apart from them, checked."""

from __future__ import annotations

from datetime import datetime, timedelta

from store.domain.oncall import on_call_at
from store.domain.overrides import ScheduleOverride, check_window, file_overrides, refusal, with_overrides
from store.domain.schedule import Override
from tests.support.escalation import T0, make_config

LATER = T0 + timedelta(hours=2)


def stored(user: str, start: datetime, end: datetime, ident: int) -> ScheduleOverride:
    return ScheduleOverride("primary", Override(user, start, end, ident), ident)


def test_stored_overrides_win_where_they_are_and_are_not_taken_for_the_files() -> None:
    config = make_config()
    merged = with_overrides(config, [stored("carol", T0, LATER, 7)])
    schedule = merged.schedule("primary")
    assert schedule is not None and on_call_at(schedule, T0 + timedelta(hours=1)).user == "carol"
    assert on_call_at(schedule, LATER).user == "bob"
    assert file_overrides(merged, "primary") == []  # the merged one is PostgreSQL's, not the file's
    assert with_overrides(config, []) is config


def test_windows_and_refusals_in_words() -> None:
    assert check_window(LATER, T0) == ("until (2026-11-26T19:03:00Z) is not after from (2026-11-26T21:03:00Z); "
                                       "expected a later until")
    assert check_window(T0, T0 + timedelta(days=400)) is not None
    assert check_window(datetime(2026, 1, 1), LATER) is not None  # no offset
    assert check_window(T0, LATER) is None
    new = ScheduleOverride("primary", Override("bob", T0, LATER))
    assert refusal(new, [stored("carol", T0, LATER, 7)]) == (
        "the new override (bob from 2026-11-26T19:03:00Z until 2026-11-26T21:03:00Z) overlaps override 7 (carol "
        "from 2026-11-26T19:03:00Z until 2026-11-26T21:03:00Z) in schedule primary; delete that one first or pick "
        "other times")
