"""People Tocsin knows from the config file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class User:
    """A config user and every contact they have."""

    id: str
    name: str
    email: str | None = None
    slack_id: str | None = None
    telegram_id: int | None = None
    discord_id: str | None = None  # a Discord user id (snowflake)
    mattermost_id: str | None = None  # a Mattermost user id (26 characters), or "@username"
    role: str = "responder"  # viewer | responder | admin: what they may do from chat
