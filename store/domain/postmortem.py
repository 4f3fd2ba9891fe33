"""Post-mortems (pure): the draft filled with an incident's facts, action items and their owners, ETags."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from store.domain.sla import ACK, RESOLVE, SlaStatus, SlaTarget, describe

DRAFT = "draft"
PUBLISHED = "published"
STATUSES = (DRAFT, PUBLISHED)
MAX_MARKDOWN = 200_000
ALERTS_LISTED = 50
EVENTS_LISTED = 200
ACTION_HEADING = re.compile(r"^#{1,6}\s+action items\s*$", re.IGNORECASE)
HEADING = re.compile(r"^#{1,6}\s")
ACTION_ITEM = re.compile(r"^\s*[-*+]\s+\[(?P<done>[ xX])\]\s+(?P<text>.*\S)\s*$")
OWNER = re.compile(r"(?:^|\s)@(?P<owner>[A-Za-z0-9][A-Za-z0-9._-]{0,63})\b")
QUIET_KINDS = frozenset({"alert_firing", "alert_resolved", "alert_superseded"})


@dataclass(frozen=True, slots=True)
class ActionItem:
    """One `- [ ] what @owner` line of the action items section."""

    text: str
    owner: str | None
    done: bool
    line: int


@dataclass(frozen=True, slots=True)
class Facts:
    """What the draft is filled with: the incident, its alerts and timeline, and its SLA."""

    incident: Any  # store.models.Incident (kept loose: the domain imports no models)
    alerts: Sequence[Any] = ()
    events: Sequence[Any] = ()
    target: SlaTarget = field(default_factory=SlaTarget)
    sla: SlaStatus | None = None


def etag(incident_id: int, version: int) -> str:
    """The strong ETag of a post-mortem's version (0: the draft nothing has saved yet)."""
    return f'"pm-{incident_id}-{version}"'


def version_of(if_match: str, incident_id: int) -> int | None:
    """The version an If-Match header names for this incident, or None when it names none of ours."""
    match = re.fullmatch(rf'\s*(?:W/)?"pm-{incident_id}-(\d{{1,9}})"\s*', if_match)
    return int(match.group(1)) if match else None


def action_items(markdown: str) -> list[ActionItem]:
    """The task-list lines of the "Action items" section, each with its @owner (None when it names none)."""
    items: list[ActionItem] = []
    inside = False
    for number, line in enumerate(markdown.splitlines(), 1):
        if HEADING.match(line):
            inside = bool(ACTION_HEADING.match(line.strip()))
            continue
        found = ACTION_ITEM.match(line) if inside else None
        if found:
            owner = OWNER.search(found.group("text"))
            items.append(ActionItem(found.group("text"), owner.group("owner") if owner else None,
                                    found.group("done") != " ", number))
    return items


def publish_problems(markdown: str) -> list[str]:
    """Why the text cannot be published: action items without an owner (empty when it can)."""
    return [f"line {item.line}: action item {item.text[:60]!r} has no owner; expected '@name' on the line"
            for item in action_items(markdown) if item.owner is None]


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _span(start: datetime, end: datetime | None) -> str:
    if end is None:
        return "—"
    seconds = max(0, round((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _against(facts: Facts, kind: str) -> str:
    limit = facts.target.of(kind)
    if limit is None:
        return "no target"
    met = facts.sla is not None and kind not in facts.sla.breached
    return f"target {describe(limit)}: {'met' if met else 'breached'}"


def _facts_table(facts: Facts) -> list[str]:
    i = facts.incident
    return [
        "| | when | who | after the trigger | SLA |",
        "|---|---|---|---|---|",
        f"| Opened | {_when(i.created_at)} | {_cell(i.source)} | | |",
        f"| Acknowledged | {_when(i.acknowledged_at)} | {_cell(i.acknowledged_by or '—')} | "
        f"{_span(i.triggered_at, i.acknowledged_at or i.resolved_at)} | {_against(facts, ACK)} |",
        f"| Resolved | {_when(i.resolved_at)} | {_cell(i.resolved_by or '—')} | "
        f"{_span(i.triggered_at, i.resolved_at)} | {_against(facts, RESOLVE)} |",
    ]


def _alert_lines(alerts: Sequence[Any]) -> list[str]:
    if not alerts:
        return ["No alerts: the incident was opened by hand."]
    lines = []
    for alert in list(alerts)[:ALERTS_LISTED]:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())).replace("`", "'")
        name = alert.labels.get("alertname", alert.fingerprint)
        until = f" to {_when(alert.ends_at)}" if alert.ends_at else ""
        lines.append(f"- **{_cell(name)}** ({alert.status}) from {_when(alert.starts_at)}{until}: `{labels}`")
    if len(alerts) > ALERTS_LISTED:
        lines.append(f"- … and {len(alerts) - ALERTS_LISTED} more")
    return lines


def _timeline_lines(events: Sequence[Any]) -> list[str]:
    shown = [e for e in events if e.kind not in QUIET_KINDS][-EVENTS_LISTED:]
    return [f"- {_when(e.created_at)} — {_cell(e.message or e.kind)} ({_cell(e.actor)} via {e.source})"
            for e in shown] or ["- (nothing recorded)"]


def draft(facts: Facts) -> str:
    """The review to start from: the facts filled in, the sections to write left with prompts."""
    i = facts.incident
    summary = (i.summary or i.description or "").strip()
    lines = [
        f"# Post-mortem: #{i.id} {i.title}",
        "",
        f"Severity: **{i.severity}** · route: `{i.route_id}` · alerts: {i.alert_count}",
        "",
        "## Summary",
        "",
        summary or "_What happened, in two or three sentences._",
        "",
        "## Facts",
        "",
        *_facts_table(facts),
        "",
        "## Alerts",
        "",
        *_alert_lines(facts.alerts),
        "",
        "## Timeline",
        "",
        *_timeline_lines(facts.events),
        "",
        "## Impact",
        "",
        "_Who and what was affected, and for how long._",
        "",
        "## Root cause",
        "",
        "_Why it happened; ask why until the answer is something to change._",
        "",
        "## What went well",
        "",
        "- ",
        "",
        "## What went wrong",
        "",
        "- ",
        "",
        "## Action items",
        "",
        "_One per line, each with its owner: `- [ ] Alert on replication lag @alice`._",
        "",
    ]
    return "\n".join(lines)
