"""Load the config file for the composition root (routes now; users, schedules and policies with their issues)."""

from __future__ import annotations

import sys

from store.domain.routing import Route, RouteTable
from web.settings import Settings


def default_route(settings: Settings) -> Route:
    """The route used when no config route matches: the channels from the settings."""
    return Route(id="default")


def config_problems(settings: Settings) -> list[str]:
    """Every problem of the config file, one line each (empty when it is fine)."""
    if settings.config_path is None:
        return []
    if not settings.config_path.is_file():
        return [f"{settings.config_path}: TOCSIN_CONFIG names a file that does not exist"]
    return []


def load_routes_or_exit(settings: Settings) -> RouteTable:
    """The route table, or exit 1 with the config file's problems."""
    problems = config_problems(settings)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        raise SystemExit(1)
    return RouteTable(routes=(), default=default_route(settings))
