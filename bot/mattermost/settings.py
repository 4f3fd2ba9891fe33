"""The settings Mattermost needs (CONTRACT section 8), read from a lookup of the environment."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

CHANNEL = re.compile(r"^[a-z0-9]{26}$")
TOKEN = re.compile(r"^[A-Za-z0-9]{20,64}$")
SECRET_MIN = 16


class MattermostSettingsError(ValueError):
    """One Mattermost setting has a bad value; the message names it and says what was expected."""


@dataclass(frozen=True, slots=True)
class MattermostSettings:
    """Server URL, bot token, default channel, the buttons' secret and the slash command's token."""

    url: str
    bot_token: str = field(repr=False)
    action_secret: str = field(repr=False)
    command_token: str | None = field(default=None, repr=False)
    channel_id: str | None = None
    public_url: str = "http://localhost:8080"
    alertmanager_url: str | None = None

    @property
    def api_url(self) -> str:
        """The REST API v4 base."""
        return f"{self.url}/api/v4"

    @property
    def silence_enabled(self) -> bool:
        """Silences need Alertmanager's URL."""
        return self.alertmanager_url is not None

    @property
    def actions_url(self) -> str:
        """Where Mattermost posts button clicks (it must reach Tocsin there)."""
        return f"{self.public_url.rstrip('/')}/mattermost/actions"


def read_mattermost_settings(
    lookup: Callable[[str], str | None], public_url: str, alertmanager_url: str | None = None
) -> MattermostSettings | None:
    """The Mattermost settings, or None when MATTERMOST_BOT_TOKEN is unset (Mattermost off)."""
    token = _value(lookup, "MATTERMOST_BOT_TOKEN")
    if token is None:
        return None
    if not TOKEN.match(token):
        raise MattermostSettingsError("MATTERMOST_BOT_TOKEN: expected the bot account's access token (System "
                                      "Console, Bot Accounts): 20 to 64 letters and digits")
    url = _value(lookup, "MATTERMOST_URL")
    if url is None or not url.startswith(("http://", "https://")):
        raise MattermostSettingsError("MATTERMOST_URL: expected the Mattermost server's URL such as "
                                      "https://chat.example.com, starting with http:// or https://")
    secret = _value(lookup, "MATTERMOST_ACTION_SECRET")
    if secret is None or len(secret) < SECRET_MIN:
        raise MattermostSettingsError(f"MATTERMOST_ACTION_SECRET: expected a random secret of at least {SECRET_MIN} "
                                      "characters (such as the output of: openssl rand -hex 32), set when "
                                      "Mattermost is on: buttons carry it and Tocsin checks it")
    command_token = _value(lookup, "MATTERMOST_COMMAND_TOKEN")
    if command_token is not None and not TOKEN.match(command_token):
        raise MattermostSettingsError("MATTERMOST_COMMAND_TOKEN: expected the slash command's token (Integrations, "
                                      "Slash Commands): 20 to 64 letters and digits")
    channel = _value(lookup, "MATTERMOST_CHANNEL_ID")
    if channel is not None and not CHANNEL.match(channel):
        raise MattermostSettingsError("MATTERMOST_CHANNEL_ID: expected a channel id (channel menu, View Info): 26 "
                                      "lowercase letters and digits")
    return MattermostSettings(
        url=url.rstrip("/").removesuffix("/api/v4"),
        bot_token=token,
        action_secret=secret,
        command_token=command_token,
        channel_id=channel,
        public_url=public_url.rstrip("/"),
        alertmanager_url=alertmanager_url,
    )


def _value(lookup: Callable[[str], str | None], name: str) -> str | None:
    value = lookup(name)
    return value.strip() or None if value is not None else None
