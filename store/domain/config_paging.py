"""The config's paging keys of a user: phone, ntfy_topic, pushover_user and notification_rules (CONTRACT section 8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from store.domain.config_fields import DURATION_EXPECTED, Fields, describe
from store.domain.contacts import (
    NTFY_TOPIC,
    NTFY_TOPIC_EXPECTED,
    PHONE,
    PHONE_EXPECTED,
    PUSHOVER_KEY,
    PUSHOVER_USER_EXPECTED,
)
from store.domain.notify import METHOD_CONTACTS, METHODS
from store.domain.users import NotificationRule

PAGING_KEYS = ("phone", "ntfy_topic", "pushover_user", "notification_rules")
RULE_KEYS = ("method", "after")
MAX_RULES = 20
MAX_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PagingContacts:
    """A user's paging keys as read."""

    phone: str | None = None
    ntfy_topic: str | None = None
    pushover_user: str | None = None
    notification_rules: tuple[NotificationRule, ...] = ()


def read_paging(fields: Fields, contacts: dict[str, object]) -> PagingContacts:
    """The paging keys of one user; `contacts` are the user's other contacts (email, slack_id, …) as read."""
    phone = fields.text("phone", PHONE, PHONE_EXPECTED)
    topic = fields.text("ntfy_topic", NTFY_TOPIC, NTFY_TOPIC_EXPECTED)
    pushover = fields.text("pushover_user", PUSHOVER_KEY, PUSHOVER_USER_EXPECTED)
    have = {**contacts, "phone": phone, "ntfy_topic": topic, "pushover_user": pushover}
    invalid = {key for key in PAGING_KEYS[:3] if fields.has(key) and have[key] is None}
    rules: list[NotificationRule] = []
    listed = list(fields.items("notification_rules", "rules such as {method: push, after: 0m}"))
    if len(listed) > MAX_RULES:
        fields.problems.add(fields.at("notification_rules"), f"{len(listed)} rules; expected at most {MAX_RULES}")
    for value, path in listed:
        rule = _rule(Fields(value, path, fields.problems, RULE_KEYS, RULE_KEYS), have, invalid)
        if rule is not None:
            rules.append(rule)
    ordered = tuple(sorted(rules, key=lambda r: r.after))  # stable: rules at the same delay keep their order
    return PagingContacts(phone, topic, pushover, ordered)


def _rule(fields: Fields, have: dict[str, object], invalid: set[str]) -> NotificationRule | None:
    method = fields.data.get("method")
    after = _after(fields)
    if not isinstance(method, str) or method not in METHODS:
        if fields.has("method"):
            fields.wrong("method", f"expected one of {', '.join(METHODS)}")
        return None
    needs = METHOD_CONTACTS[method]
    if not any(have.get(key) for key in needs):
        if not any(key in invalid for key in needs):  # a bad phone is reported once, at phone
            fields.problems.add(fields.at("method"), f"{method}: the user has no {' or '.join(needs)}; "
                                f"expected a method the user has a contact for")
        return None
    return NotificationRule(method, after) if after is not None else None


def _after(fields: Fields) -> timedelta | None:
    if not fields.has("after"):
        return None
    after = fields.duration("after")
    if after is None:
        return None
    if after > MAX_AFTER:
        fields.problems.add(fields.at("after"), f"got {describe(fields.data['after'])}; {DURATION_EXPECTED} "
                            "(at most 1d)")
        return None
    return after
