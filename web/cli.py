"""The `tocsin` command: serve, migrate, check-config, send-test-alert, token, report, postmortem, config, override."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from store.db import Database, create_database
from store.domain.config_schema import Config
from store.embedded import EmbeddedPostgres
from store.errors import ApiError, StoreError
from store.migrate import upgrade_sync
from web.cli_ops import add_parsers as add_ops_parsers
from web.cli_review import add_parsers as add_review_parsers
from web.logs import configure_logging
from web.settings import Settings, SettingsError, load_settings

log = logging.getLogger("tocsin")
T = TypeVar("T")


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def settings_and_config() -> tuple[Settings, Config]:
    """The settings and the config file, or exit 1 naming what is wrong."""
    from web.config_loader import load_config_or_exit

    settings = _settings_or_exit()
    configure_logging(settings.log, settings.secrets())
    return settings, load_config_or_exit(settings)


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
    from web.config_loader import load_config_or_exit
    from web.server import run_event_loop, serve_until_signalled

    settings = _settings_or_exit()
    config = load_config_or_exit(settings)  # says what is wrong on stderr, before any log line
    configure_logging(settings.log, [*settings.secrets(), *config.secrets()])  # routing keys, webhook secrets
    dsn, embedded = _database_url(settings)
    try:
        upgrade_sync(dsn)
        log.info("migrations applied; listening on %s:%s", settings.http.host, settings.http.port)
        app = create_app(settings, dsn, config=config)
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


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate, open a small pool, run `work`, close everything (embedded server included)."""
    dsn, embedded = _database_url(settings)

    async def run() -> T:
        db = await create_database(dsn, replace(settings.database, max_open_conns=2, max_idle_conns=1))
        try:
            return await work(db)
        finally:
            await db.close()

    try:
        upgrade_sync(dsn)
        return asyncio.run(run())
    finally:
        if embedded is not None:
            embedded.stop()


def cmd_token(args: argparse.Namespace) -> int:
    """token create | list | revoke: manage API tokens (only their hashes are stored)."""
    from store import tokens
    from web.cli_ops import operator

    settings = _settings_or_exit()
    configure_logging(settings.log, settings.secrets())
    try:
        if args.token_command == "create":  # noqa: S105 - a subcommand's name, not a secret
            stored, secret = _with_database(
                settings, lambda db: tokens.create_token(db, args.name, args.role, args.user, operator())
            )
            if args.json:
                print(json.dumps({"name": stored.name, "role": stored.role.value, "token": secret}))
            else:
                print(secret)
        elif args.token_command == "list":  # noqa: S105 - a subcommand's name, not a secret
            for t in _with_database(settings, tokens.list_tokens):
                state = f"revoked {t.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if t.revoked_at else "active"
                used = f"{t.last_used_at:%Y-%m-%dT%H:%M:%SZ}" if t.last_used_at else "never"
                print(f"{t.name}\t{t.role}\t{t.user_id or '-'}\t{state}\tlast used {used}")
        else:
            _with_database(settings, lambda db: tokens.revoke_token(db, args.name, operator()))
            print(f"token {args.name} revoked", file=sys.stderr)
    except (ApiError, StoreError) as exc:
        print(f"tocsin: {exc.message}", file=sys.stderr)
        return 1
    return 0


def cmd_ops(args: argparse.Namespace) -> int:
    """config apply|show, override add|delete|list (web/cli_ops.py)."""
    from web import cli_ops

    settings = _settings_or_exit()
    configure_logging(settings.log, settings.secrets())
    handler = cli_ops.cmd_config if args.ops == "config" else cli_ops.cmd_override
    return handler(args, settings, _with_database)


def _token_parser(sub: Any) -> None:
    token = sub.add_parser("token", help="manage API tokens")
    token.set_defaults(func=cmd_token)
    actions = token.add_subparsers(dest="token_command", required=True)
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("--name", required=True, help="unique name (letters, digits, '.', '_', '-')")
    create.add_argument("--role", required=True, choices=("viewer", "responder", "admin"))
    create.add_argument("--user", help="config user id the token acts as (default token:NAME)")
    create.add_argument("--json", action="store_true", help='print {"name", "role", "token"}')
    actions.add_parser("list", help="list tokens (never their secrets)")
    revoke = actions.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")


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
    _token_parser(sub)
    add_review_parsers(sub)
    add_ops_parsers(sub, cmd_ops)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tocsin` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
