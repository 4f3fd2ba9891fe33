"""DISCORD_* and MATTERMOST_*: off unless the token is set; a bad value names the variable and what was expected."""

from __future__ import annotations

import pytest

from bot.discord.settings import DiscordSettingsError, read_discord_settings
from bot.mattermost.settings import MattermostSettingsError, read_mattermost_settings

DISCORD = {"DISCORD_BOT_TOKEN": "d" * 60, "DISCORD_PUBLIC_KEY": "AB" * 32, "DISCORD_APPLICATION_ID": "1" * 18}
MATTERMOST = {"MATTERMOST_BOT_TOKEN": "m" * 26, "MATTERMOST_URL": "https://chat.example.com/api/v4/",
              "MATTERMOST_ACTION_SECRET": "s" * 32}


def test_off_without_a_token_and_read_with_one() -> None:
    assert read_discord_settings({}.get, "https://t.example") is None
    assert read_mattermost_settings({}.get, "https://t.example") is None
    discord = read_discord_settings(DISCORD.get, "https://t.example/", "http://am")
    assert discord is not None and discord.public_key == "ab" * 32 and discord.silence_enabled
    assert discord.api_url == "https://discord.com/api/v10" and "d" * 60 not in repr(discord)
    assert discord.interactions_url == "https://t.example/discord/interactions"
    mattermost = read_mattermost_settings(MATTERMOST.get, "https://t.example")
    assert mattermost is not None and mattermost.api_url == "https://chat.example.com/api/v4"
    assert mattermost.command_token is None and "s" * 32 not in repr(mattermost)


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"DISCORD_BOT_TOKEN": "short"}, "DISCORD_BOT_TOKEN: expected the bot's token"),
    ({"DISCORD_PUBLIC_KEY": None}, "DISCORD_PUBLIC_KEY: expected the application's public key"),
    ({"DISCORD_PUBLIC_KEY": "zz" * 32}, "64 hexadecimal characters"),
    ({"DISCORD_APPLICATION_ID": "abc"}, "DISCORD_APPLICATION_ID: expected the application id"),
    ({"DISCORD_CHANNEL_ID": "#ops"}, "DISCORD_CHANNEL_ID: expected a channel id"),
    ({"DISCORD_API_URL": "discord.com"}, "DISCORD_API_URL: expected a URL"),
])
def test_bad_discord_values_name_the_variable(changes: dict[str, str | None], fragment: str) -> None:
    env = {**DISCORD, **changes}
    with pytest.raises(DiscordSettingsError) as caught:
        read_discord_settings(env.get, "https://t.example")
    assert fragment in str(caught.value) and "d" * 60 not in str(caught.value)


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"MATTERMOST_URL": None}, "MATTERMOST_URL: expected the Mattermost server's URL"),
    ({"MATTERMOST_ACTION_SECRET": "short"}, "MATTERMOST_ACTION_SECRET: expected a random secret of at least 16"),
    ({"MATTERMOST_COMMAND_TOKEN": "no!"}, "MATTERMOST_COMMAND_TOKEN: expected the slash command's token"),
    ({"MATTERMOST_CHANNEL_ID": "town-square"}, "MATTERMOST_CHANNEL_ID: expected a channel id"),
    ({"MATTERMOST_BOT_TOKEN": "bad token"}, "MATTERMOST_BOT_TOKEN: expected the bot account's access token"),
])
def test_bad_mattermost_values_name_the_variable(changes: dict[str, str | None], fragment: str) -> None:
    env = {**MATTERMOST, **changes}
    with pytest.raises(MattermostSettingsError) as caught:
        read_mattermost_settings(env.get, "https://t.example")
    assert fragment in str(caught.value)
