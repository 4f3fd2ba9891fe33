"""One presentation of an incident for every chat and mail: state, buttons, links, who did what and how.

Pure (no I/O). Each renderer (bot/slack/render.py, bot/telegram/render.py, bot/email/render.py,
bot/discord/render.py, bot/mattermost/render.py) formats this for its medium and decides nothing of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from store.domain.incident import Status
from store.domain.links import DASHBOARD, Link, incident_url, source_links
from store.models import Event, Incident

ACK, RESOLVE, SILENCE = "ack", "resolve", "silence"
DEFAULT_SILENCE = "1h"
SOURCE_NAMES = {
    "slack": "Slack",
    "telegram": "Telegram",
    "discord": "Discord",
    "mattermost": "Mattermost",
    "email": "email",
    "api": "the API",
    "web": "the dashboard",
    "alertmanager": "Alertmanager",
    "scheduler": "the scheduler",
    "cli": "the command line",
}
BY_MACHINE = ("alertmanager", "scheduler")
# Emoji shortcodes of the statuses, for the media that read them (Slack, Mattermost).
STATUS_SHORTCODES = {
    Status.TRIGGERED: ":rotating_light:",
    Status.ACKNOWLEDGED: ":eyes:",
    Status.RESOLVED: ":white_check_mark:",
}


@dataclass(frozen=True, slots=True)
class Button:
    """A button under an incident's message: its action (ack, resolve, silence), label and emphasis."""

    action: str
    label: str
    style: str | None = None  # "primary", "danger" or None


@dataclass(frozen=True, slots=True)
class Presentation:
    """What every medium shows of an incident as it stands."""

    incident: Incident
    url: str
    status: str  # e.g. "Acknowledged by Alice Example"
    alerts: str  # e.g. "2 firing of 3"
    buttons: tuple[Button, ...]
    links: tuple[Link, ...]  # the dashboard first, then source graph, runbook, Alertmanager
    silenced_until: datetime | None
    acknowledged: str | None  # "Acknowledged by Alice Example at 2026-11-26 12:00 UTC"
    resolved: str | None


def source_name(source: str) -> str:
    """How a channel reads in a sentence: 'via Telegram', 'via the API'."""
    return SOURCE_NAMES.get(source, source)


def person(actor: str | None, names: Mapping[str, str] | None = None) -> str:
    """A config user's name for their id; anyone else as recorded."""
    if not actor:
        return "unknown"
    return (names or {}).get(actor, actor)


def utc_time(moment: datetime) -> str:
    """A time as '2026-11-26 12:00 UTC'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def buttons(status: Status, silence_enabled: bool) -> tuple[Button, ...]:
    """The buttons that make sense in a state: none once resolved, Acknowledge only while triggered."""
    if status is Status.RESOLVED:
        return ()
    found = [Button(ACK, "Acknowledge", "primary")] if status is Status.TRIGGERED else []
    found.append(Button(RESOLVE, "Resolve", "danger"))
    if silence_enabled:
        found.append(Button(SILENCE, f"Silence {DEFAULT_SILENCE}"))
    return tuple(found)


def status_line(incident: Incident, names: Mapping[str, str] | None = None) -> str:
    """'Triggered', 'Acknowledged by Alice Example', 'Resolved by bob'."""
    who = incident.acknowledged_by if incident.status is Status.ACKNOWLEDGED else incident.resolved_by
    if incident.status is not Status.TRIGGERED and who:
        return f"{incident.status.value.capitalize()} by {person(who, names)}"
    return incident.status.value.capitalize()


def alerts_line(incident: Incident) -> str:
    """'2 firing of 3', '3 (none firing)' or 'none (opened by hand)'."""
    if incident.firing_alert_count:
        return f"{incident.firing_alert_count} firing of {incident.alert_count}"
    return f"{incident.alert_count} (none firing)" if incident.alert_count else "none (opened by hand)"


def links(incident: Incident, public_url: str) -> tuple[Link, ...]:
    """The dashboard page, then the incident's source graph, runbook and Alertmanager links (web links only)."""
    return (Link(DASHBOARD, incident_url(public_url, incident.id)), *source_links(incident.links))


def event_line(event: Event, names: Mapping[str, str] | None = None) -> str:
    """One timeline entry in words: 'Acknowledged by Alice Example via Telegram', 'Alert firing: …'."""
    who = person(event.actor, names)
    via = source_name(event.source)
    by_person = event.source not in BY_MACHINE
    if event.kind in ("acknowledged", "resolved") and by_person:
        note = event.data.get("note") if isinstance(event.data, dict) else None
        return f"{event.kind.capitalize()} by {who} via {via}" + (f": {note}" if note else "")
    text = event.message or event.kind.replace("_", " ").capitalize()
    return text + (f" (by {who} via {via})" if by_person else "")


def silenced_until(events: Sequence[Event]) -> datetime | None:
    """The end of the latest silence on the timeline, if any."""
    for event in sorted(events, key=lambda e: (e.created_at, e.id), reverse=True):
        if event.kind != "silenced":
            continue
        raw = event.data.get("ends_at") or event.data.get("until")
        try:
            return datetime.fromisoformat(str(raw)) if raw else None
        except ValueError:
            return None
    return None


def latest_event(events: Sequence[Event]) -> Event | None:
    """The newest timeline entry."""
    return max(events, key=lambda e: (e.created_at, e.id), default=None)


def present(
    incident: Incident,
    events: Sequence[Event] = (),
    *,
    public_url: str,
    silence_enabled: bool = False,
    names: Mapping[str, str] | None = None,
) -> Presentation:
    """The incident as every medium shows it."""
    acked = resolved = None
    if incident.acknowledged_by and incident.acknowledged_at:
        acked = f"Acknowledged by {person(incident.acknowledged_by, names)} at {utc_time(incident.acknowledged_at)}"
    if incident.status is Status.RESOLVED and incident.resolved_by and incident.resolved_at:
        resolved = f"Resolved by {person(incident.resolved_by, names)} at {utc_time(incident.resolved_at)}"
    silenced = silenced_until(events) if incident.status is not Status.RESOLVED else None
    return Presentation(
        incident=incident,
        url=incident_url(public_url, incident.id),
        status=status_line(incident, names),
        alerts=alerts_line(incident),
        buttons=buttons(incident.status, silence_enabled),
        links=links(incident, public_url),
        silenced_until=silenced,
        acknowledged=acked,
        resolved=resolved,
    )
