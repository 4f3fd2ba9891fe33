"""Delivery rules (pure): which events reach which channel, an incident's channels, retry timing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from store.domain.delivery import (
    RetryPolicy,
    absorbs_updates,
    channels_for,
    notifies,
    page_targets,
    retry_delay,
    targets_of,
)
from store.domain.routing import Route


def test_email_hears_of_open_acknowledge_resolve_reopen_and_who_holds_it_only() -> None:
    for kind in ("opened", "reopened", "acknowledged", "resolved", "unacknowledged", "reassigned", "ack_lapsed",
                 "reminder", "maintenance_ended", "flapping_ended"):
        assert notifies("email", kind)
        assert not notifies("email", kind, quiet=True)  # in maintenance or flapping: no mail
    for kind in ("note", "alert_firing", "alert_resolved", "silenced", "escalated", "snoozed", "flapping",
                 "maintenance_left"):
        assert not notifies("email", kind)
        assert notifies("slack", kind) and notifies("telegram", kind)
        assert notifies("slack", kind, quiet=True)  # a quiet incident's chat message is still kept up to date


def test_a_reassignment_pages_the_new_assignee() -> None:
    target = {"kind": "user", "id": "bob", "email": "bob@example.com", "slack_id": "U01BOB", "telegram_id": 2}
    assert page_targets("reassigned", {"targets": [target]}) == [
        ("slack", "U01BOB"), ("telegram", "2"), ("email", "bob@example.com")]
    assert page_targets("acknowledged", {"targets": [target]}) == []


def test_chat_opens_absorb_updates_but_email_does_not() -> None:
    assert absorbs_updates("slack") and absorbs_updates("telegram") and not absorbs_updates("email")


def test_channels_fall_back_per_channel_to_the_default_route() -> None:
    default = Route(id="default", slack_channel="C0DEF", telegram_chats=("-1",), email=("ops@example.com",))
    assert channels_for(Route(id="r", email=("team@example.com",)), default) == {
        "slack": "C0DEF",
        "telegram": ["-1"],
        "email": ["team@example.com"],
    }
    assert channels_for(Route(id="r"), Route(id="default")) == {}


def test_targets_one_per_address_chat_and_slack_channel() -> None:
    channels = {"email": ["a@x.io", "b@x.io"], "slack": "C1", "telegram": ["-1001:42"]}
    assert targets_of(channels) == [("email", "a@x.io"), ("email", "b@x.io"), ("slack", "C1"), ("telegram", "-1001:42")]


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0, max_value=1))
def test_backoff_is_jittered_within_half_to_full_capped_exponential(attempts: int, r: float) -> None:
    policy = RetryPolicy(base=2, cap=300)
    full = min(300, 2 * 2 ** (attempts - 1))
    delay = retry_delay(attempts, policy, rand=lambda: r)
    assert full / 2 <= delay <= full


@given(st.floats(min_value=0.001, max_value=3600), st.integers(min_value=1, max_value=50))
def test_retry_after_is_never_shortened(retry_after: float, attempts: int) -> None:
    delay = retry_delay(attempts, RetryPolicy(base=2, cap=300), retry_after, rand=lambda: 0.0)
    assert delay == retry_after
    assert retry_after <= retry_delay(attempts, RetryPolicy(), retry_after, rand=lambda: 1.0) <= retry_after * 1.1


def test_discord_and_mattermost_channels_fall_back_and_users_are_paged_by_direct_message() -> None:
    default = Route(id="default", discord_channel="1" * 18, mattermost_channel="d" * 26)
    own = Route(id="db", discord_channel="2" * 18)
    assert channels_for(own, default) == {"discord": "2" * 18, "mattermost": "d" * 26}
    targets = [
        {"kind": "user", "id": "alice", "discord_id": "3" * 18, "mattermost_id": "@alice", "email": "a@example.com"},
        {"kind": "discord_channel", "id": "4" * 18}, {"kind": "mattermost_channel", "id": "m" * 26},
    ]
    assert page_targets("escalated", {"targets": targets}) == [
        ("discord", f"user:{'3' * 18}"), ("mattermost", "user:@alice"), ("email", "a@example.com"),
        ("discord", "4" * 18), ("mattermost", "m" * 26),
    ]
