"""`tocsin report sla` and `tocsin postmortem edit|export`: the SLA report and post-mortems from the command line,
straight on the database (they work whether or not `tocsin serve` runs)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from store import postmortems, sla
from store.db import Database
from store.domain.incident import ActionSource
from store.domain.postmortem import DRAFT, PUBLISHED
from store.errors import ApiError, StoreError
from store.runtime import utc_now
from web.api.reports import GROUP_BY, report_csv, report_json, window
from web.dashboard.format import duration

TABLE_COLUMNS = ("group", "incidents", "ack %", "resolve %", "breaches", "MTTA p50", "MTTA p90", "MTTR p50",
                 "MTTR p90")


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def table_rows(body: dict[str, Any]) -> list[tuple[str, ...]]:
    """The report as rows of text: a header, one row per group, the total."""
    rows: list[tuple[str, ...]] = [TABLE_COLUMNS]
    entries = [(g["group"] if g["group"] is not None else "(none)", g) for g in body["groups"]]
    for name, g in [*entries, ("total", body["total"])]:
        rows.append((str(name), str(g["incidents"]), _percent(g["ack_attainment_percent"]),
                     _percent(g["resolve_attainment_percent"]), str(g["breaches"]),
                     duration(g["mtta_seconds"]["p50"]), duration(g["mtta_seconds"]["p90"]),
                     duration(g["mttr_seconds"]["p50"]), duration(g["mttr_seconds"]["p90"])))
    return rows


def format_table(body: dict[str, Any]) -> str:
    """The report as an aligned text table, with its window on the first line."""
    rows = table_rows(body)
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    lines = [f"SLA report {body['since']} to {body['until']}, by {body['group_by']}"]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths, strict=True))).rstrip())
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace) -> int:
    """report sla: print the SLA report of a window."""
    from web.cli import _with_database, settings_and_config

    settings, config = settings_and_config()
    now = utc_now()
    try:
        since, until = window(args.since, args.until, now)
    except (ApiError, StoreError) as exc:
        print(f"tocsin: {exc.message.removeprefix('invalid query: ')}", file=sys.stderr)
        return 1
    report = _with_database(settings, lambda db: sla.report(db, config, since, until, args.group_by, now))
    body = report_json(report)
    if args.format == "json":
        print(json.dumps(body, indent=2))
    elif args.format == "csv":
        sys.stdout.write(report_csv(body))
    else:
        print(format_table(body))
    return 0


def run_editor(path: Path) -> int:
    """Open the file in $VISUAL or $EDITOR (else vi) and wait for it; the editor's exit status."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    # The user's own editor on their own file, as git and crontab -e do.
    return subprocess.run([*shlex.split(editor), str(path)], check=False).returncode  # noqa: S603


def edit_text(markdown: str, incident_id: int) -> tuple[Path, int, str]:
    """Put the text in a temporary file, open the editor on it: (the file, the editor's status, the text after)."""
    with tempfile.NamedTemporaryFile("w", suffix=f"-postmortem-{incident_id}.md", delete=False,
                                     encoding="utf-8") as f:
        f.write(markdown)
        path = Path(f.name)
    status = run_editor(path)
    return path, status, path.read_text(encoding="utf-8")


async def _edit(db: Database, args: argparse.Namespace, config: Any) -> int:
    review = await postmortems.read(db, config, args.id)
    status = PUBLISHED if args.publish else DRAFT if args.draft else review.status
    path, code, text = await asyncio.to_thread(edit_text, review.markdown, args.id)
    if code != 0:
        print(f"tocsin: the editor failed; nothing saved (your text is in {path})", file=sys.stderr)
        return 1
    if review.version > 0 and text == review.markdown and status == review.status:
        await asyncio.to_thread(path.unlink)
        print(f"post-mortem of #{args.id} unchanged (version {review.version})")
        return 0
    try:
        saved = await postmortems.save(db, args.id, review.version, status, text, args.by, ActionSource.CLI)
    except (ApiError, StoreError) as exc:
        print(f"tocsin: {exc.message} (your text is in {path})", file=sys.stderr)
        return 1
    await asyncio.to_thread(path.unlink)
    print(f"post-mortem of #{args.id} saved: {saved.status}, version {saved.version}")
    return 0


def cmd_postmortem(args: argparse.Namespace) -> int:
    """postmortem edit | export: edit a review in $EDITOR, or print it as Markdown."""
    from web.cli import _with_database, settings_and_config

    settings, config = settings_and_config()
    try:
        if args.postmortem_command == "export":
            review = _with_database(settings, lambda db: postmortems.read(db, config, args.id))
            sys.stdout.write(review.markdown)
            return 0
        return _with_database(settings, lambda db: _edit(db, args, config))
    except (ApiError, StoreError) as exc:
        print(f"tocsin: {exc.message}", file=sys.stderr)
        return 1


def add_parsers(sub: Any) -> None:
    """`report` and `postmortem` subcommands."""
    report = sub.add_parser("report", help="reports over the incidents")
    kinds = report.add_subparsers(dest="report_command", required=True)
    sla_report = kinds.add_parser("sla", help="SLA attainment, breaches, MTTA and MTTR per group")
    sla_report.add_argument("--since", default="30d", help="a duration back from now (30d) or an RFC 3339 time")
    sla_report.add_argument("--until", help="end of the window (default now), as --since")
    sla_report.add_argument("--group-by", choices=GROUP_BY, default="route", help="one row per route (default), "
                            "severity or team")
    sla_report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.set_defaults(func=cmd_report)

    review = sub.add_parser("postmortem", help="edit or export a resolved incident's post-mortem")
    actions = review.add_subparsers(dest="postmortem_command", required=True)
    edit = actions.add_parser("edit", help="open the post-mortem in $VISUAL or $EDITOR and save it")
    edit.add_argument("id", type=int, help="the incident's number")
    state = edit.add_mutually_exclusive_group()
    state.add_argument("--publish", action="store_true", help="save it as published")
    state.add_argument("--draft", action="store_true", help="save it as a draft again")
    edit.add_argument("--by", default=_login(), help="who edits, for the timeline (default: your login name)")
    export = actions.add_parser("export", help="print the post-mortem as Markdown")
    export.add_argument("id", type=int, help="the incident's number")
    review.set_defaults(func=cmd_postmortem)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
