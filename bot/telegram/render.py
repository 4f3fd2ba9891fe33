"""An incident as a Telegram HTML message with its inline keyboard (pure: no I/O).

Every text that comes from alerts is escaped. Telegram refuses a message whose visible text (after
entity parsing, counted in UTF-16 code units) exceeds 4,096; text is shortened before it is escaped, so
no tag or entity is ever cut, and the message always fits.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import present
from store.domain.links import incident_url
from store.models import Event, Incident

MAX_TEXT = 4096
TITLE_MAX = 200
SUMMARY_MAX = 1500
LABEL_KEY_MAX = 64
LABEL_VALUE_MAX = 200
EVENT_MAX = 200
EVENTS_SHOWN = 5
STATUS_ICON = {"triggered": "🔴", "acknowledged": "🟡", "resolved": "✅"}
SEVERITY_ICON = {"critical": "‼️", "error": "❗", "warning": "⚠️", "info": "ℹ️"}


@dataclass(frozen=True, slots=True)
class Span:
    """Plain text, optionally in one tag (b, i, code) or a link."""

    text: str
    tag: str | None = None
    href: str | None = None

    def html(self) -> str:
        body = html.escape(self.text, quote=False)
        if self.href:
            return f'<a href="{html.escape(self.href)}">{body}</a>'
        return f"<{self.tag}>{body}</{self.tag}>" if self.tag else body


Line = tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Rendered:
    """The message text (HTML) and its keyboard (None: no buttons)."""

    text: str
    keyboard: InlineKeyboardMarkup | None


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units, ending with '…' when cut (never splitting a surrogate pair)."""
    if utf16_len(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > limit - 1:
            break
        out.append(char)
        used += size
    return "".join(out).rstrip() + "…"


def visible_length(lines: Sequence[Line]) -> int:
    """What Telegram will count: the plain text of every span, lines joined by newlines."""
    return utf16_len("\n".join("".join(s.text for s in line) for line in lines))


def to_html(lines: Sequence[Line]) -> str:
    """The HTML for Telegram's parse_mode=HTML."""
    return "\n".join("".join(s.html() for s in line) for line in lines).strip()


def render_incident(
    incident: Incident,
    *,
    public_url: str,
    silence_enabled: bool,
    recent_events: Sequence[Event] = (),
    names: Mapping[str, str] | None = None,
) -> Rendered:
    """The incident's message: status and severity first, then summary, labels, links and latest events."""
    shown = present.present(incident, recent_events, public_url=public_url, silence_enabled=silence_enabled,
                            names=names)
    head = _head(incident)
    summary = shorten(incident.summary.strip(), SUMMARY_MAX) if incident.summary.strip() else ""
    labels = _label_lines(incident.labels)
    tail = _tail(shown)
    events = [_event_line(e, names) for e in list(recent_events)[-EVENTS_SHOWN:]]
    lines = _assemble(head, summary, labels, tail, events)
    while visible_length(lines) > MAX_TEXT and events:
        events.pop(0)
        lines = _assemble(head, summary, labels, tail, events)
    dropped = 0
    while visible_length(lines) > MAX_TEXT and len(labels) > 1:
        labels.pop()
        dropped += 1
        lines = _assemble(head, summary, labels + [_more_labels(dropped)], tail, events)
    if dropped:
        labels.append(_more_labels(dropped))
    excess = visible_length(lines) - MAX_TEXT
    if excess > 0:
        summary = shorten(summary, max(utf16_len(summary) - excess, 1))
        lines = _assemble(head, summary, labels, tail, events)
    return Rendered(to_html(lines), incident_keyboard(incident, silence_enabled))


def incident_keyboard(incident: Incident, silence_enabled: bool) -> InlineKeyboardMarkup | None:
    """The presentation's buttons (callback data "ack:ID", "resolve:ID", "silence:ID"); none once resolved."""
    row = [InlineKeyboardButton(b.label, callback_data=f"{b.action}:{incident.id}")
           for b in present.buttons(incident.status, silence_enabled)]
    return InlineKeyboardMarkup([row]) if row else None


def render_incident_list(incidents: Sequence[Incident], public_url: str, limit: int = 30) -> str:
    """One line per open incident, for /incidents."""
    if not incidents:
        return "No open incidents. ✅"
    lines: list[Line] = [(Span(f"Open incidents ({len(incidents)})", "b"),)]
    for incident in incidents[:limit]:
        icon = STATUS_ICON.get(incident.status.value, "")
        lines.append((
            Span(f"{icon} "),
            Span(f"#{incident.id}", href=incident_url(public_url, incident.id)),
            Span(f" {incident.severity} · {incident.status} · {shorten(incident.title, 90)}"),
        ))
    if len(incidents) > limit:
        lines.append((Span(f"… and {len(incidents) - limit} more on the dashboard", "i"),))
    return to_html(lines)


def _head(incident: Incident) -> list[Line]:
    icon = STATUS_ICON.get(incident.status.value, "")
    severity = incident.severity
    counts = f"{incident.firing_alert_count} firing of {incident.alert_count}"
    return [
        (Span(f"{icon} "), Span(f"#{incident.id} {shorten(incident.title.strip() or 'Incident', TITLE_MAX)}", "b")),
        (
            Span("Status: "), Span(str(incident.status).upper(), "b"),
            Span(f" · Severity: {SEVERITY_ICON.get(severity, '')} "), Span(severity, "b"),
            Span(f" · Alerts: {counts}"),
        ),
    ]


def _label_lines(labels: Mapping[str, str]) -> list[Line]:
    return [
        (Span("• "), Span(shorten(key, LABEL_KEY_MAX), "code"), Span(f" = {shorten(str(value), LABEL_VALUE_MAX)}"))
        for key, value in sorted(labels.items())
    ]


def _more_labels(count: int) -> Line:
    return (Span(f"… and {count} more label{'s' if count > 1 else ''} on the dashboard", "i"),)


def _tail(shown: present.Presentation) -> list[Line]:
    links: list[Span] = []
    for link in shown.links:
        links += [Span(" · "), Span(link.name, href=link.url)] if links else [Span(link.name, href=link.url)]
    lines: list[Line] = [tuple(links)]
    for done in (shown.acknowledged, shown.resolved):
        if done:
            lines.append((Span(shorten(done, 200)),))
    if shown.silenced_until is not None:
        lines.append((Span(f"Silenced until {present.utc_time(shown.silenced_until)}"),))
    return lines


def _event_line(event: Event, names: Mapping[str, str] | None) -> Line:
    text = f"{present.utc_time(event.created_at)} {present.event_line(event, names)}"
    return (Span(shorten(text, EVENT_MAX), "i"),)


def _assemble(
    head: list[Line], summary: str, labels: list[Line], tail: list[Line], events: list[Line]
) -> list[Line]:
    lines = list(head)
    if summary:
        lines += [(), (Span(summary),)]
    if labels:
        lines += [(), (Span("Labels", "b"),), *labels]
    lines += [(), *tail]
    if events:
        lines += [(), *events]
    return lines
