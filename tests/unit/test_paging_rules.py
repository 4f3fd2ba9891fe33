"""Paging's pure parts: the config's paging keys refused per key, the rule math, one-tap link signing, SMS reply
parsing and the paging settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.paging.answers import parse_reply
from bot.paging.settings import PagingSettingsError, read_paging_settings
from store.domain import action_links
from store.domain.action_links import LinkRefused
from store.domain.config_schema import ConfigError, parse_config
from store.domain.notify import next_rule, rules_text
from store.domain.users import NotificationRule

NOW = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)
KEY = "unit-test-action-link-key-0123456789abcdef"


def problems(user: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({"users": [user]})
    return caught.value.lines("tocsin.yml")


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"id": "a", "phone": "015112345678"}, "users[0].phone: got the text '015112345678'; expected a phone number "
                                               "in E.164 form"),
        ({"id": "a", "phone": 4915112345678}, "users[0].phone: got the number 4915112345678; expected a phone"),
        ({"id": "a", "ntfy_topic": "has space"}, "users[0].ntfy_topic: got the text 'has space'; expected an ntfy"),
        ({"id": "a", "pushover_user": "short"}, "users[0].pushover_user: got the text 'short'; expected a Pushover"),
        ({"id": "a", "email": "a@example.com", "notification_rules": [{"method": "sms", "after": "0m"}]},
         "users[0].notification_rules[0].method: sms: the user has no phone; expected a method the user has"),
        ({"id": "a", "notification_rules": [{"method": "push", "after": "0m"}]},
         "users[0].notification_rules[0].method: push: the user has no ntfy_topic or pushover_user"),
        ({"id": "a", "email": "a@example.com", "notification_rules": [{"method": "pager", "after": "0m"}]},
         "users[0].notification_rules[0].method: got the text 'pager'; expected one of push, sms, voice, email"),
        ({"id": "a", "email": "a@example.com", "notification_rules": [{"method": "email", "after": "5 minutes"}]},
         "users[0].notification_rules[0].after: got the text '5 minutes'; expected a duration"),
        ({"id": "a", "email": "a@example.com", "notification_rules": [{"method": "email", "after": "2d"}]},
         "users[0].notification_rules[0].after: got the text '2d'; expected a duration such as 30s, 15m, 2h, 1d or "
         "1h30m (at most 1d)"),
        ({"id": "a", "email": "a@example.com", "notification_rules": [{"method": "email"}]},
         "users[0].notification_rules[0].after: missing; this key is required"),
        ({"id": "a", "email": "a@example.com", "notification_rules": [{"method": "email", "after": "0m", "x": 1}]},
         "users[0].notification_rules[0].x: unknown key; expected one of method, after"),
        ({"id": "a", "email": "a@example.com", "notification_rules": "push"},
         "users[0].notification_rules: got the text 'push'; expected a list of rules"),
    ],
)
def test_a_bad_paging_key_is_one_line_naming_it(user: dict[str, Any], expected: str) -> None:
    lines = problems(user)
    assert len(lines) == 1 and lines[0].startswith("tocsin.yml: " + expected), lines


def test_a_bad_phone_is_reported_once_not_again_at_the_rules_that_use_it() -> None:
    lines = problems({"id": "a", "phone": "12", "notification_rules": [{"method": "sms", "after": "0m"}]})
    assert len(lines) == 1 and "users[0].phone:" in lines[0]


def test_two_people_cannot_share_a_phone_since_a_reply_names_its_sender() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"users": [{"id": "a", "phone": "+4915112345678"}, {"id": "b", "phone": "+4915112345678"}]})
    assert "users[1].phone: duplicate phone '+4915112345678' (also at users[0].phone)" in caught.value.lines("f")[0]


def test_rules_are_kept_in_order_of_delay_and_read_back_in_words() -> None:
    config = parse_config({"users": [{"id": "a", "phone": "+4915112345678", "ntfy_topic": "a-topic",
                                      "notification_rules": [{"method": "voice", "after": "10m"},
                                                             {"method": "push", "after": 0},
                                                             {"method": "sms", "after": "1h30m"}]}]})
    rules = config.users[0].notification_rules
    assert [r.method for r in rules] == ["push", "voice", "sms"]
    assert rules_text(rules) == "push at 0m, voice call at 10m, SMS at 1h30m"


def test_next_rule_counts_from_the_page_and_ends_after_the_last() -> None:
    rules = (NotificationRule("push", timedelta(0)), NotificationRule("sms", timedelta(minutes=5)))
    assert next_rule(rules, NOW, 0) == (0, rules[0], NOW)
    assert next_rule(rules, NOW, 1) == (1, rules[1], NOW + timedelta(minutes=5))
    assert next_rule(rules, NOW, 2) is None
    with pytest.raises(ValueError):
        next_rule(rules, NOW, -1)


def test_a_link_says_what_it_was_signed_for_until_it_expires() -> None:
    token = action_links.sign(KEY, 42, "ack", "alice.smith", "ntfy", NOW)
    link = action_links.verify(KEY, token, NOW + timedelta(hours=23))
    assert (link.incident_id, link.action, link.user_id, link.channel) == (42, "ack", "alice.smith", "ntfy")
    assert link.expires_at == NOW + timedelta(hours=24) and len(token) < 120
    with pytest.raises(LinkRefused) as expired:
        action_links.verify(KEY, token, NOW + timedelta(hours=24))
    assert expired.value.reason == "expired"
    assert action_links.sign(KEY, 42, "ack", "alice", "sms", NOW) != action_links.sign(KEY, 42, "ack", "alice", "sms",
                                                                                        NOW)


@pytest.mark.parametrize("mangle", [
    # A character in the middle: the last one of unpadded base64 may carry unused bits only.
    lambda t: t[:5] + ("A" if t[5] != "A" else "B") + t[6:],
    lambda t: t.split(".")[0],
    lambda t: "x" + t,
    lambda t: t + "." + t,
    lambda t: "",
    lambda t: "%%%.%%%",
    lambda t: t * 10,
])
def test_an_altered_link_is_refused(mangle: Any) -> None:
    token = action_links.sign(KEY, 42, "resolve", "alice", "email", NOW)
    with pytest.raises(LinkRefused) as refused:
        action_links.verify(KEY, mangle(token), NOW)
    assert refused.value.reason == "altered"


def test_a_link_signed_with_another_key_is_refused() -> None:
    token = action_links.sign("another-key-of-enough-length-0123456789", 42, "ack", "alice", "sms", NOW)
    with pytest.raises(LinkRefused):
        action_links.verify(KEY, token, NOW)


@pytest.mark.parametrize(("text", "expected"), [
    ("1", ("ack", None)), (" 2 ", ("resolve", None)), ("1 42", ("ack", 42)), ("ack #42", ("ack", 42)),
    ("RESOLVE 7", ("resolve", 7)), ("3", None), ("yes", None), ("1 x", None), ("1 42 43", None), ("", None),
])
def test_sms_replies(text: str, expected: tuple[str, int | None] | None) -> None:
    assert parse_reply(text) == expected


def settings(**env: str) -> Any:
    return read_paging_settings(env.get, "https://tocsin.example/")


def test_paging_is_off_without_settings_and_each_provider_needs_the_link_key() -> None:
    assert settings().providers == []
    with pytest.raises(PagingSettingsError, match="^ACTION_LINK_KEY: expected to be set when ntfy is on"):
        settings(NTFY_URL="https://ntfy.sh")
    on = settings(NTFY_URL="https://ntfy.sh/", ACTION_LINK_KEY="k" * 32)
    assert on.ntfy is not None and on.ntfy.url == "https://ntfy.sh" and on.public_url == "https://tocsin.example"


@pytest.mark.parametrize(("env", "expected"), [
    ({"ACTION_LINK_KEY": "short"}, "ACTION_LINK_KEY: expected a random secret of at least 32"),
    ({"NTFY_URL": "ntfy.sh"}, "NTFY_URL: expected a URL starting with http"),
    ({"PUSHOVER_APP_TOKEN": "nope"}, "PUSHOVER_APP_TOKEN: expected the application's API token"),
    ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID: expected the Account SID"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "a" * 32}, "TWILIO_AUTH_TOKEN: expected the account's Auth Token"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "b" * 32, "TWILIO_FROM": "555"},
     "TWILIO_FROM: expected the Twilio number"),
])
def test_bad_paging_settings_name_the_variable(env: dict[str, str], expected: str) -> None:
    with pytest.raises(PagingSettingsError) as refused:
        settings(**{"ACTION_LINK_KEY": "k" * 32, **env})
    assert str(refused.value).startswith(expected)
    assert "b" * 32 not in str(refused.value)
