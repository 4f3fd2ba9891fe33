"""People Tocsin knows from the config file, and how each wants to be paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class NotificationRule:
    """Reach the person by `method` this long after they were paged (GoAlert's "method after N minutes")."""

    method: str  # one of store.domain.notify.METHODS
    after: timedelta


@dataclass(frozen=True, slots=True)
class User:
    """A config user, every contact they have, and their notification rules (empty: every contact at once)."""

    id: str
    name: str
    email: str | None = None
    slack_id: str | None = None
    telegram_id: int | None = None
    discord_id: str | None = None  # a Discord user id (snowflake)
    mattermost_id: str | None = None  # a Mattermost user id (26 characters), or "@username"
    phone: str | None = None  # E.164, such as +4915112345678: SMS and voice
    ntfy_topic: str | None = None  # push through ntfy
    pushover_user: str | None = None  # push through Pushover (the user key)
    notification_rules: tuple[NotificationRule, ...] = ()
    role: str = "responder"  # viewer | responder | admin: what they may do from chat
