"""`tocsin config apply|show` and `tocsin override add|delete|list`: operations without restarts or the file."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from store import config_versions, overrides
from store.config import ConfigFileError, read_config_text
from store.db import Database
from store.domain.config_fields import parse_duration
from store.domain.incident import ActionSource
from store.domain.oncall_view import rfc3339
from store.domain.tokens import Role
from store.errors import ApiError, StoreError
from web.config_loader import config_in_force, default_route
from web.settings import Settings


def operator() -> str:
    """Who runs this command: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def parse_time(text: str, now: datetime, start: datetime | None = None) -> datetime:
    """'now', an RFC 3339 time with its offset, or (for --until) a duration after --from such as 2h."""
    text = text.strip()
    if text == "now":
        return now
    if start is not None and text and text[0].isdigit() and not any(c in text for c in "-:T"):
        return start + parse_duration(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("expected a time with its offset, such as 2026-12-24T18:00:00+01:00")
    return moment


def cmd_config(args: argparse.Namespace, settings: Settings, with_db: Any) -> int:
    """config apply [FILE] | config show."""
    if args.config_command == "show":
        for v in with_db(settings, lambda db: config_versions.history(db, args.limit)):
            print(f"{v.version}\t{v.applied_at:%Y-%m-%dT%H:%M:%SZ}\t{v.applied_via}\t{v.applied_by}\t{v.source}\t"
                  f"{v.sha256[:12]}")
        return 0
    path = args.file or settings.config_path
    if path is None:
        print("tocsin: no config file: name one (tocsin config apply FILE) or set TOCSIN_CONFIG", file=sys.stderr)
        return 1
    try:
        text = read_config_text(path)
        config_versions.check(text, str(path), default_route(settings))  # before any database is touched
        applied = with_db(settings, lambda db: config_versions.apply_text(
            db, text, str(path), args.by or operator(), ActionSource.CLI.value, default_route(settings)))
    except ConfigFileError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        print("tocsin: nothing was applied", file=sys.stderr)
        return 1
    version = applied.version
    if applied.created:
        print(f"config version {version.version} applied ({path}); every replica switches within seconds")
    else:
        print(f"unchanged: config version {version.version} is already this file")
    return 0


async def _override(args: argparse.Namespace, settings: Settings, db: Database) -> str:
    acting = overrides.Acting(args.by or operator(), None, Role.ADMIN, ActionSource.CLI.value)
    if args.override_command == "delete":
        gone = await overrides.delete_override(db, args.schedule, args.id, acting)
        return f"override {gone.id} of schedule {gone.schedule_id} deleted"
    config = await config_in_force(db, settings)
    if args.override_command == "list":
        found = await overrides.list_overrides(db, args.schedule, datetime.now(UTC) - timedelta(days=1))
        return "\n".join(f"{o.id}\t{o.user_id}\t{rfc3339(o.starts_at)}\t{rfc3339(o.ends_at)}\t{o.created_by} "
                         f"via {o.created_via}" for o in found) or f"schedule {args.schedule} has no stored overrides"
    now = datetime.now(UTC)
    start = parse_time(args.start, now)
    end = parse_time(args.until, now, start)
    made = await overrides.add_override(db, config, args.schedule, args.user, start, end, acting)
    return f"override {made.id}: {made.user_id} on call in {made.schedule_id} from {rfc3339(made.starts_at)} " \
           f"until {rfc3339(made.ends_at)}"


def cmd_override(args: argparse.Namespace, settings: Settings, with_db: Any) -> int:
    """override add | delete | list."""
    try:
        print(with_db(settings, lambda db: _override(args, settings, db)))
    except ValueError as exc:
        if isinstance(exc, StoreError):
            print(f"tocsin: {exc.message}", file=sys.stderr)
        else:
            print(f"tocsin: --from/--until: {exc}", file=sys.stderr)
        return 1
    except (ApiError, StoreError) as exc:
        print(f"tocsin: {exc.message}", file=sys.stderr)
        return 1
    except ConfigFileError as exc:
        print("\n".join(exc.lines), file=sys.stderr)
        return 1
    return 0


def add_parsers(sub: Any, func: Callable[[argparse.Namespace], int]) -> None:
    """The config and override subcommands, run by `func`."""
    config = sub.add_parser("config", help="apply the config file to every replica, show its versions")
    config.set_defaults(ops="config", func=func)
    actions = config.add_subparsers(dest="config_command", required=True)
    apply = actions.add_parser("apply", help="check the file and store it as the new config version")
    apply.add_argument("file", nargs="?", type=Path, help="the config file (default TOCSIN_CONFIG)")
    apply.add_argument("--by", help="who applies it, for the record (default user@host)")
    show = actions.add_parser("show", help="the stored config versions, newest first")
    show.add_argument("--limit", type=int, default=20)
    override = sub.add_parser("override", help="put someone on call instead of a schedule's rotation")
    override.set_defaults(ops="override", func=func)
    kinds = override.add_subparsers(dest="override_command", required=True)
    add = kinds.add_parser("add", help="add an override")
    add.add_argument("--schedule", required=True)
    add.add_argument("--user", required=True, help="config user id")
    add.add_argument("--from", dest="start", required=True, help="'now' or an RFC 3339 time with offset")
    add.add_argument("--until", required=True, help="an RFC 3339 time with offset, or a duration after --from (2h)")
    add.add_argument("--by", help="who makes it, for the record (default user@host)")
    delete = kinds.add_parser("delete", help="delete an override by its id")
    delete.add_argument("--schedule", required=True)
    delete.add_argument("id", type=int)
    delete.add_argument("--by", help="who deletes it, for the record (default user@host)")
    listing = kinds.add_parser("list", help="a schedule's stored overrides")
    listing.add_argument("--schedule", required=True)
    listing.set_defaults(by=None)
