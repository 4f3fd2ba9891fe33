"""The `tocsin` command: serve, migrate, check-config, send-test-alert."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from store.embedded import EmbeddedPostgres
from store.migrate import upgrade_sync
from web.logs import configure_logging
from web.settings import Settings, SettingsError, load_settings

log = logging.getLogger("tocsin")


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    if settings.database.url:
        return settings.database.url, None
    embedded = EmbeddedPostgres(settings.database.data_dir)
    dsn = embedded.start()
    log.info("using the embedded PostgreSQL in %s (set DATABASE_URL to use your own)", embedded.pgdata)
    return dsn, embedded


def cmd_serve(args: argparse.Namespace) -> int:
    """Migrate, then serve HTTP, the bots and the scheduler until SIGINT or SIGTERM."""
    from web.app import create_app
    from web.config_loader import load_routes_or_exit
    from web.server import run_event_loop, serve_until_signalled

    settings = _settings_or_exit()
    configure_logging(settings.log, settings.secrets())
    routes = load_routes_or_exit(settings)
    dsn, embedded = _database_url(settings)
    try:
        upgrade_sync(dsn)
        log.info("migrations applied; listening on %s:%s", settings.http.host, settings.http.port)
        app = create_app(settings, dsn, routes)
        run_event_loop(serve_until_signalled(app, settings.http))
    finally:
        if embedded is not None:
            embedded.stop()
            log.info("embedded PostgreSQL stopped")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations and exit."""
    settings = _settings_or_exit()
    configure_logging(settings.log, settings.secrets())
    dsn, embedded = _database_url(settings)
    try:
        upgrade_sync(dsn)
    finally:
        if embedded is not None:
            embedded.stop()
    print("migrations are current")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the settings and the config file: exit 0, or 1 with one line per problem."""
    from web.config_loader import config_problems

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    problems = config_problems(settings)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    where = settings.config_path or "no config file (the default route applies)"
    print(f"ok: settings and {where}")
    return 0


def cmd_send_test_alert(args: argparse.Namespace) -> int:
    """Post a realistic Alertmanager webhook to a running Tocsin."""
    from web.testalert import send_test_alert

    settings = _settings_or_exit()
    url = args.url or f"http://127.0.0.1:{settings.http.port}"
    token = args.token or settings.webhook.token
    try:
        status, body = send_test_alert(url, token, args.resolve)
    except OSError as exc:
        print(f"tocsin: cannot reach {url}: {exc}", file=sys.stderr)
        return 1
    print(f"{status} {body.strip()}")
    return 0 if status == 200 else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="tocsin", description="Chat-first incident manager for Alertmanager.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="migrate, then serve HTTP, bots and scheduler").set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply migrations and exit").set_defaults(func=cmd_migrate)
    sub.add_parser("check-config", help="validate settings and the config file").set_defaults(func=cmd_check_config)
    test = sub.add_parser("send-test-alert", help="post a realistic Alertmanager webhook to a running Tocsin")
    test.add_argument("--url", help="Tocsin's base URL (default http://127.0.0.1:PORT)")
    test.add_argument("--token", help="bearer token (default WEBHOOK_TOKEN)")
    test.add_argument("--resolve", action="store_true", help="send the resolved version of the test alerts")
    test.set_defaults(func=cmd_send_test_alert)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tocsin` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
