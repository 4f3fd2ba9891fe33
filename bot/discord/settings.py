"""The settings Discord needs (CONTRACT section 8), read from a lookup of the environment."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_API_URL = "https://discord.com/api/v10"
SNOWFLAKE = re.compile(r"^[1-9][0-9]{15,20}$")
PUBLIC_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
TOKEN = re.compile(r"^[A-Za-z0-9_.-]{50,100}$")


class DiscordSettingsError(ValueError):
    """One Discord setting has a bad value; the message names it and says what was expected."""


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    """Bot token, the application's public key and id, the default channel, the API's URL."""

    bot_token: str = field(repr=False)
    public_key: str  # hex Ed25519 key: interactions are signed with its private half
    application_id: str
    channel_id: str | None = None
    api_url: str = DEFAULT_API_URL
    public_url: str = "http://localhost:8080"
    alertmanager_url: str | None = None

    @property
    def silence_enabled(self) -> bool:
        """Silences need Alertmanager's URL."""
        return self.alertmanager_url is not None

    @property
    def interactions_url(self) -> str:
        """What to paste as the application's Interactions Endpoint URL."""
        return f"{self.public_url.rstrip('/')}/discord/interactions"


def read_discord_settings(
    lookup: Callable[[str], str | None], public_url: str, alertmanager_url: str | None = None
) -> DiscordSettings | None:
    """The Discord settings, or None when DISCORD_BOT_TOKEN is unset (Discord off)."""
    token = _value(lookup, "DISCORD_BOT_TOKEN")
    if token is None:
        return None
    if not TOKEN.match(token):
        raise DiscordSettingsError("DISCORD_BOT_TOKEN: expected the bot's token from the Developer Portal "
                                   "(Bot page, Reset Token): 50 to 100 letters, digits, '.', '_' or '-'")
    key = _value(lookup, "DISCORD_PUBLIC_KEY")
    if key is None or not PUBLIC_KEY.match(key):
        raise DiscordSettingsError("DISCORD_PUBLIC_KEY: expected the application's public key from the Developer "
                                   "Portal (General Information): 64 hexadecimal characters")
    application_id = _value(lookup, "DISCORD_APPLICATION_ID")
    if application_id is None or not SNOWFLAKE.match(application_id):
        raise DiscordSettingsError("DISCORD_APPLICATION_ID: expected the application id from the Developer Portal "
                                   "(General Information): a number of 16 to 21 digits")
    channel = _value(lookup, "DISCORD_CHANNEL_ID")
    if channel is not None and not SNOWFLAKE.match(channel):
        raise DiscordSettingsError("DISCORD_CHANNEL_ID: expected a channel id (Developer Mode, right-click the "
                                   "channel, Copy Channel ID): a number of 16 to 21 digits")
    api_url = _value(lookup, "DISCORD_API_URL") or DEFAULT_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise DiscordSettingsError("DISCORD_API_URL: expected a URL starting with http:// or https://")
    return DiscordSettings(
        bot_token=token,
        public_key=key.lower(),
        application_id=application_id,
        channel_id=channel,
        api_url=api_url.rstrip("/"),
        public_url=public_url.rstrip("/"),
        alertmanager_url=alertmanager_url,
    )


def _value(lookup: Callable[[str], str | None], name: str) -> str | None:
    value = lookup(name)
    return value.strip() or None if value is not None else None
