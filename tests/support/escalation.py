"""A config with users, a schedule and a policy, and a hand-moved clock, for escalation tests."""

from __future__ import annotations

from datetime import UTC, datetime

from store.domain.config_schema import Config, parse_config

# Thursday 26 Nov 2026, 20:03 in Berlin: bob's day (the daily rotation alice, bob began Mon 23 Nov 09:00).
T0 = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)

CONFIG_DATA = {
    "users": [
        {"id": "alice", "name": "Alice Example", "email": "alice@example.com", "slack_id": "U01ALICE",
         "telegram_id": 111111},
        {"id": "bob", "name": "Bob Example", "slack_id": "U01BOB"},
        {"id": "carol", "name": "Carol", "email": "carol@example.com", "slack_id": "U01CAROL"},
    ],
    "schedules": [
        {
            "id": "primary",
            "timezone": "Europe/Berlin",
            "layers": [{"participants": ["alice", "bob"], "rotation": "daily", "handoff": "09:00",
                        "start": "2026-11-23"}],
            "announce": {"slack_channel": "C0OPS", "telegram_chat": "-1001"},
        }
    ],
    # steps at 0m and 15m; repeat 1 runs them again at 30m and 45m
    "escalation_policies": [
        {
            "id": "default",
            "steps": [
                {"after": "0m", "notify": ["schedule:primary"]},
                {"after": "15m", "notify": ["user:carol", "slack_channel:C0LEADS"]},
            ],
            "repeat": 1,
        }
    ],
    "routes": [{"id": "all", "escalation": "default", "reopen_within": "5m"}],
}


def make_config() -> Config:
    """The test config, checked by the real loader."""
    return parse_config(CONFIG_DATA)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
