"""Incident to email (pure): subject, plain text and HTML from the Jinja2 templates beside this module."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot import present
from store.models import Event, Incident

TEMPLATES = Path(__file__).resolve().parent / "templates"
EVENTS_SHOWN = 10
TITLE_MAX = 150
# The status word of the subject: what this mail announces.
ANNOUNCES = {"opened": "TRIGGERED", "reopened": "TRIGGERED", "acknowledged": "ACKNOWLEDGED", "resolved": "RESOLVED"}
HEADLINES = {
    "opened": "New incident",
    "reopened": "Incident reopened",
    "acknowledged": "Incident acknowledged",
    "resolved": "Incident resolved",
}
COLOURS = {"TRIGGERED": "#cf222e", "ACKNOWLEDGED": "#9a6700", "RESOLVED": "#1a7f37"}


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """A mail's subject and its two bodies."""

    subject: str
    text: str
    html: str


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["when"] = _when
    return env


ENV = _environment()


def _one_line(text: str, limit: int) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def subject_for(incident: Incident, event_kind: str) -> str:
    """`[TRIGGERED] #42 HighLatency (critical)`: what the mail announces, the incident, its severity."""
    status = ANNOUNCES.get(event_kind, incident.status.value.upper())
    return f"[{status}] #{incident.id} {_one_line(incident.title, TITLE_MAX)} ({incident.severity})"


def render_email(
    incident: Incident,
    event_kind: str,
    recent_events: Sequence[Event],
    public_url: str,
    names: Mapping[str, str] | None = None,
    actions: Sequence[tuple[str, str]] = (),
) -> RenderedEmail:
    """The mail announcing `event_kind` (opened, acknowledged, resolved...) for the incident as it stands;
    `actions` are one-tap links (label, URL) for a paged person."""
    shown = present.present(incident, recent_events, public_url=public_url, names=names)
    subject = subject_for(incident, event_kind)
    status = ANNOUNCES.get(event_kind, incident.status.value.upper())
    context = {
        "incident": incident,
        "subject": subject,
        "headline": HEADLINES.get(event_kind, f"Incident {incident.status.value}"),
        "colour": COLOURS.get(status, "#1f2328"),
        "dashboard_url": shown.url,
        "shown": shown,
        "labels": sorted(incident.labels.items()),
        "links": [(link.name, link.url) for link in shown.links],
        "actions": list(actions),
        "events": list(recent_events)[-EVENTS_SHOWN:],
        "event_line": lambda event: present.event_line(event, names),
        "person": lambda actor: present.person(actor, names),
    }
    text = ENV.get_template("incident.txt").render(context)
    html = ENV.get_template("incident.html").render(context)
    return RenderedEmail(subject, text, html)
