"""Notification rules: which contact a method uses, when each rule of a page is due, and the words for it (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from store.domain.config_fields import format_span
from store.domain.users import NotificationRule, User

# A method and the user keys (contacts) it reaches; "push" reaches ntfy and Pushover, whichever the user has.
METHOD_CONTACTS: dict[str, tuple[str, ...]] = {
    "push": ("ntfy_topic", "pushover_user"),
    "sms": ("phone",),
    "voice": ("phone",),
    "email": ("email",),
    "slack": ("slack_id",),
    "telegram": ("telegram_id",),
    "discord": ("discord_id",),
    "mattermost": ("mattermost_id",),
}
METHODS = tuple(METHOD_CONTACTS)
METHOD_WORDS = {"push": "push", "sms": "SMS", "voice": "voice call", "email": "email", "slack": "Slack DM",
                "telegram": "Telegram", "discord": "Discord DM", "mattermost": "Mattermost DM"}
# In a page's data, a phone to call is kept under its own key: "phone" alone means a text message.
VOICE_KEY = "voice"


def contacts_of(user: User, method: str) -> dict[str, Any]:
    """The user's contacts a method uses, as delivery target keys ({} when the user has none of them)."""
    found: dict[str, Any] = {}
    for key in METHOD_CONTACTS.get(method, ()):
        value = getattr(user, key)
        if value:
            found[VOICE_KEY if method == "voice" else key] = value
    return found


def has_method(user: User, method: str) -> bool:
    """True when the user has a contact the method can use."""
    return bool(contacts_of(user, method))


def format_after(after: timedelta) -> str:
    """A delay as written in the config: 0m, 90s, 5m, 2h, 1h30m."""
    return "0m" if int(after.total_seconds()) == 0 else format_span(after)


def rules_text(rules: Sequence[NotificationRule]) -> str:
    """The rules in words: 'push at 0m, SMS at 5m, voice call at 10m'."""
    return ", ".join(f"{METHOD_WORDS[r.method]} at {format_after(r.after)}" for r in rules)


def next_rule(
    rules: Sequence[NotificationRule], started_at: datetime, fired_count: int
) -> tuple[int, NotificationRule, datetime] | None:
    """The rule to fire after `fired_count` have fired: (index, rule, due_at), or None when all have fired."""
    if fired_count < 0:
        raise ValueError(f"fired count {fired_count}: expected 0 or more")
    if fired_count >= len(rules):
        return None
    rule = rules[fired_count]
    return fired_count, rule, started_at + rule.after


def rule_target(user: User, method: str) -> dict[str, Any]:
    """The user as one rule pages them: only the contacts of that method."""
    return {"kind": "user", "id": user.id, "name": user.name, **contacts_of(user, method)}


def rule_message(user: User, rule: NotificationRule, number: int) -> str:
    """The timeline line of a fired rule: 'Paged Alice Example by SMS (rule 2 of 3, at 5m)'."""
    total = len(user.notification_rules)
    return f"Paged {user.name} by {METHOD_WORDS[rule.method]} (rule {number} of {total}, at {format_after(rule.after)})"
