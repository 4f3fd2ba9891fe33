"""Whom a step reaches and how the timeline says it; who is on call in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store.domain.escalation import Target
from store.domain.oncall import on_call_at
from store.domain.oncall_view import handoff_message, oncall_rows, oncall_text
from store.domain.paging import resolve_targets, step_message
from tests.support.escalation import T0, make_config


def test_schedule_becomes_its_on_call_user_and_everyone_is_reached_once() -> None:
    config = make_config()
    targets = [Target("schedule", "primary"), Target("user", "bob"), Target("telegram_chat", "-1001:42"),
               Target("telegram_chat", "-1001:42")]
    resolved = resolve_targets(config, targets, T0)
    assert resolved == [
        {"kind": "user", "id": "bob", "name": "Bob Example", "email": None, "slack_id": "U01BOB", "telegram_id": None,
         "via": "schedule:primary"},
        {"kind": "telegram_chat", "id": "-1001:42"},
    ]
    assert step_message(1, 1, resolved) == (
        "Escalated to step 1: notified Bob Example (on call for primary; Slack DM) and Telegram chat -1001:42"
    )


def test_every_contact_of_a_user_is_named() -> None:
    resolved = resolve_targets(make_config(), [Target("user", "alice")], T0)
    assert resolved[0]["telegram_id"] == 111111
    expected = "Escalated to step 2 (pass 3): notified Alice Example (Slack DM, Telegram, email)"
    assert step_message(2, 3, resolved) == expected


def test_nobody_on_call_is_said_so() -> None:
    config = make_config()
    empty = type(config)(users=config.users)  # the schedule is gone from the config
    resolved = resolve_targets(empty, [Target("schedule", "primary")], T0)
    assert resolved == [{"kind": "schedule", "id": "primary", "user": None}]
    assert step_message(1, 1, resolved) == "Escalated to step 1: notified nobody on call for primary"
    assert step_message(1, 1, []) == "Escalated to step 1: notified nobody"


def test_oncall_text_and_rows() -> None:
    config = make_config()
    assert oncall_text(config, T0) == "On call now:\n• primary: Bob Example until Fri 27 Nov 09:00 CET"
    summer = datetime(2027, 7, 1, 12, tzinfo=UTC)
    assert oncall_text(config, summer).endswith("until Fri 02 Jul 09:00 CEST")
    assert oncall_rows(config, T0)[0]["user"] == "bob"
    assert oncall_text(type(config)(), T0) == "No on-call schedules are configured."


def test_handoff_message() -> None:
    config = make_config()
    shift = on_call_at(config.schedules[0], T0 + timedelta(hours=13))
    assert handoff_message(config, config.schedules[0], shift, True) == (
        "Handoff in primary: Alice Example is on call until Sat 28 Nov 09:00 CET"
    )
    assert shift.start == datetime(2026, 11, 27, 8, tzinfo=UTC)
