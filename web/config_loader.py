"""Load the config file for the composition root: users, schedules, policies and routes, or every problem."""

from __future__ import annotations

import sys

from store import config_versions
from store.config import ConfigFileError, load_config, parse_config_text
from store.db import Database
from store.domain.config_schema import Config
from store.domain.routing import Route, RouteTable
from web.outgoing import config_needs
from web.settings import Settings


def default_route(settings: Settings) -> Route:
    """The route used when no config route matches: the channels from the settings, no escalation."""
    channels = settings.channels
    return Route(
        id="default",
        slack_channel=channels.slack_channel,
        telegram_chats=channels.telegram_chats,
        email=channels.email_to,
        discord_channel=channels.discord_channel,
        mattermost_channel=channels.mattermost_channel,
    )


def load(settings: Settings) -> Config:
    """The whole config (an empty one when there is no file); ConfigFileError lists every problem."""
    if settings.config_path is None:
        return Config(routes=RouteTable(default=default_route(settings)))
    config = load_config(settings.config_path, default_route(settings))
    needs = config_needs(settings, config.routes)
    if needs:
        raise ConfigFileError([f"{settings.config_path}: {path}: {problem}" for path, problem in needs])
    return config


def config_problems(settings: Settings) -> list[str]:
    """Every problem of the config file, one line each (empty when it is fine)."""
    try:
        load(settings)
    except ConfigFileError as exc:
        return exc.lines
    return []


def load_config_or_exit(settings: Settings) -> Config:
    """The whole config for the composition root, or exit 1 with the config file's problems on stderr."""
    try:
        return load(settings)
    except ConfigFileError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        raise SystemExit(1) from None


def load_routes_or_exit(settings: Settings) -> RouteTable:
    """The route table, or exit 1 with the config file's problems."""
    return load_config_or_exit(settings).routes


async def config_in_force(db: Database, settings: Settings) -> Config:
    """The config the replicas use: the newest stored version, else the file (ConfigFileError when bad)."""
    stored = await config_versions.current(db)
    if stored is None:
        return load(settings)
    return parse_config_text(stored.body, f"config version {stored.version}", default_route(settings))
