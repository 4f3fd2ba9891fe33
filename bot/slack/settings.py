"""The settings Slack needs (read by web/settings.py from the environment, once)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class SlackSettings:
    """Slack is on when this exists: the bot token is set."""

    bot_token: str
    signing_secret: str | None = None
    app_token: str | None = None
    channel: str | None = None
    command: str = "/incident"
    api_url: str = DEFAULT_API_URL
    public_url: str = "http://localhost:8080"
    alertmanager_url: str | None = None

    @property
    def socket_mode(self) -> bool:
        """Events arrive over Socket Mode (SLACK_APP_TOKEN set) instead of POST /slack/events."""
        return self.app_token is not None

    @property
    def silence_enabled(self) -> bool:
        """Silences need Alertmanager's URL."""
        return self.alertmanager_url is not None
