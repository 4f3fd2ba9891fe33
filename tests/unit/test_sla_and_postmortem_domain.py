"""The pure rules: where an incident stands against its SLA, and a post-mortem's action items and ETags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from store.domain.postmortem import action_items, etag, publish_problems, version_of
from store.domain.sla import ACK, RESOLVE, Clock, SlaTarget, due_now, status, time_left

T0 = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # half an hour before Europe's spring change
TARGET = SlaTarget(timedelta(minutes=5), timedelta(hours=4))
M = timedelta(minutes=1)


def test_the_first_response_is_the_acknowledgement_or_else_the_resolve() -> None:
    assert status(Clock(T0, T0 + 4 * M, None), TARGET, T0 + 60 * M).breached == ()
    assert status(Clock(T0, None, T0 + 6 * M), TARGET, T0 + 60 * M).breached == (ACK,)
    assert status(Clock(T0, None, None), TARGET, T0 + 5 * M).breached == (ACK,)  # due at 5m: breached then
    assert status(Clock(T0, None, None), TARGET, T0 + 5 * M - timedelta(microseconds=1)).breached == ()
    late = status(Clock(T0, T0 + M, T0 + 5 * 60 * M), TARGET, T0 + 6 * 60 * M)
    assert late.breached == (RESOLVE,) and late.resolve_due_at == T0 + 4 * 60 * M


def test_time_left_counts_down_then_goes_negative_and_stops_once_answered() -> None:
    assert time_left(Clock(T0, None, None), TARGET, ACK, T0 + 2 * M) == 3 * M
    assert time_left(Clock(T0, None, None), TARGET, ACK, T0 + 7 * M) == -2 * M
    assert time_left(Clock(T0, T0 + M, None), TARGET, ACK, T0 + 7 * M) is None
    assert time_left(Clock(T0, None, None), SlaTarget(), ACK, T0) is None


def test_a_recorded_breach_is_not_due_again() -> None:
    clock = Clock(T0, None, None)
    assert due_now(clock, TARGET, T0 + 5 * 60 * M, set()) == [ACK, RESOLVE]
    assert due_now(clock, TARGET, T0 + 5 * 60 * M, {ACK}) == [RESOLVE]
    assert due_now(Clock(T0, T0 + 9 * M, None), TARGET, T0 + 10 * M, set()) == []  # answered: nothing to announce


@given(st.integers(min_value=0, max_value=400 * 86400), st.integers(min_value=1, max_value=30 * 86400))
def test_due_times_are_elapsed_time_whatever_the_calendar(offset: int, target: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=offset)
    limit = timedelta(seconds=target)
    found = status(Clock(start, None, None), SlaTarget(limit, None), start)
    assert found.ack_due_at is not None and (found.ack_due_at - start) == limit


def test_action_items_and_their_owners() -> None:
    text = ("# Review\n\n- [ ] not an action item @x\n\n## Action items\n\n- [ ] Alert on lag @alice\n"
            "* [x] Runbook written @bob.smith\n- [ ] Nobody's\n\n## Later\n\n- [ ] ignored\n")
    items = action_items(text)
    assert [(i.text, i.owner, i.done, i.line) for i in items] == [
        ("Alert on lag @alice", "alice", False, 7), ("Runbook written @bob.smith", "bob.smith", True, 8),
        ("Nobody's", None, False, 9)]
    assert publish_problems(text) == ["line 9: action item \"Nobody's\" has no owner; expected '@name' on the line"]
    assert publish_problems("# fine\n\nno action items at all\n") == []


def test_etags_name_the_incident_and_version() -> None:
    assert etag(42, 3) == '"pm-42-3"'
    assert version_of('"pm-42-3"', 42) == 3
    assert version_of('W/"pm-42-3"', 42) == 3
    assert version_of('"pm-41-3"', 42) is None
    assert version_of("*", 42) is None and version_of('"pm-42-x"', 42) is None
