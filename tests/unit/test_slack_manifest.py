"""The Slack app manifest in deploy/slack matches what the code serves and needs."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.app import EVENTS_PATH
from bot.slack.settings import SlackSettings

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "slack" / "manifest.yml"


def test_manifest_points_every_url_at_slack_events_and_asks_for_the_needed_scopes() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == SlackSettings(bot_token="xoxb-x").command
    settings = manifest["settings"]
    urls = [command["url"], settings["interactivity"]["request_url"], settings["event_subscriptions"]["request_url"]]
    assert urls == [f"https://tocsin.example.com{EVENTS_PATH}"] * 3
    assert settings["interactivity"]["is_enabled"] is True and settings["socket_mode_enabled"] is False
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert sorted(scopes) == ["chat:write", "chat:write.public", "commands", "im:write", "users:read"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_uninstalled", "tokens_revoked"}
