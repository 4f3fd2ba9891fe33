"""Slack's settings from the environment (CONTRACT section 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.settings import SettingsError, load_settings

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_SIGNING_SECRET": "shh"}


def test_slack_is_off_without_a_token() -> None:
    assert load_settings({}).slack is None


def test_defaults_and_derived_values() -> None:
    settings = load_settings({**BASE, "PUBLIC_URL": "https://t.example/", "ALERTMANAGER_URL": "http://am:9093"})
    slack = settings.slack
    assert slack is not None
    assert (slack.bot_token, slack.signing_secret, slack.command) == ("xoxb-1-abc", "shh", "/incident")
    assert slack.api_url == "https://slack.com/api/" and not slack.socket_mode
    assert slack.public_url == "https://t.example" and slack.silence_enabled
    assert "shh" in settings.secrets() and "xoxb-1-abc" in settings.secrets()


def test_every_variable_is_read() -> None:
    slack = load_settings(
        {
            "SLACK_TOKEN": "xoxb-alias",
            "SLACK_APP_TOKEN": "xapp-1-x",
            "SLACK_CHANNEL": "C0OPS",
            "SLACK_COMMAND": "/tocsin",
            "SLACK_API_URL": "http://127.0.0.1:9999/api",
        }
    ).slack
    assert slack is not None
    assert (slack.bot_token, slack.app_token, slack.channel, slack.command) == (
        "xoxb-alias",
        "xapp-1-x",
        "C0OPS",
        "/tocsin",
    )
    assert slack.api_url == "http://127.0.0.1:9999/api/" and slack.socket_mode and slack.signing_secret is None
    assert not slack.silence_enabled


def test_bot_token_wins_over_the_alias_and_file_variant_works(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("xoxb-from-file\n")
    slack = load_settings({**BASE, "SLACK_BOT_TOKEN_FILE": str(secret), "SLACK_TOKEN": "xoxb-other"}).slack
    assert slack is not None and slack.bot_token == "xoxb-from-file"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET: expected to be set"),
        ({**BASE, "SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN: expected a bot token starting with xoxb-"),
        ({"SLACK_TOKEN": "nope", "SLACK_SIGNING_SECRET": "s"}, "SLACK_TOKEN: expected a bot token"),
        ({**BASE, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN: expected an app-level token starting with xapp-"),
        ({**BASE, "SLACK_COMMAND": "incident"}, "SLACK_COMMAND='incident': expected a slash command"),
        ({**BASE, "SLACK_COMMAND": "/Incident"}, "SLACK_COMMAND='/Incident'"),
        ({**BASE, "SLACK_CHANNEL": "ops room"}, "SLACK_CHANNEL: 'ops room' is not a Slack channel id"),
        ({**BASE, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL: expected a URL"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert fragment in str(caught.value)
    assert "shh" not in str(caught.value)
