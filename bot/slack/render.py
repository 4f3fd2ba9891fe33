"""Incidents as Slack Block Kit messages, thread lines and command replies (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot import present
from bot.actions import Reply, ReplyStyle
from store.domain.incident import Status
from store.domain.links import incident_url
from store.models import Event, Incident

ACK_ACTION = "ack_incident"
RESOLVE_ACTION = "resolve_incident"
SILENCE_ACTION = "silence_incident"
ACTION_IDS = {present.ACK: ACK_ACTION, present.RESOLVE: RESOLVE_ACTION, present.SILENCE: SILENCE_ACTION}
ACTIONS = {action_id: action for action, action_id in ACTION_IDS.items()}

STATUS_EMOJI = present.STATUS_SHORTCODES
SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "error": ":large_orange_circle:",
    "warning": ":large_yellow_circle:",
    "info": ":large_blue_circle:",
}
EVENT_EMOJI = {
    "opened": ":rotating_light:",
    "reopened": ":repeat:",
    "alert_firing": ":fire:",
    "alert_resolved": ":large_green_circle:",
    "alert_superseded": ":large_green_circle:",
    "acknowledged": ":eyes:",
    "resolved": ":white_check_mark:",
    "note": ":memo:",
    "silenced": ":no_bell:",
    "escalated": ":loudspeaker:",
    "sla_breached": ":alarm_clock:",
    "template_applied": ":clipboard:",
    "checklist": ":ballot_box_with_check:",
    "postmortem_published": ":books:",
}
# Labels worth a glance, in this order; others follow alphabetically up to MAX_LABELS.
MAIN_LABELS = ("alertname", "severity", "service", "job", "instance", "cluster", "namespace", "team", "env")
MAX_LABELS = 8
MAX_SECTION = 2900  # Slack allows 3000 characters in a section's text
MAX_HEADER = 150


def escape(text: str) -> str:
    """Escape &, < and > so that Slack shows the text as written (mrkdwn control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link_url(url: str) -> str | None:
    """A URL safe inside <url|text>, or None when it is not http(s)."""
    if not url.startswith(("http://", "https://")):
        return None
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")


def link(url: str, text: str) -> str:
    """A mrkdwn link, or the escaped text alone when the URL is unusable."""
    safe = _link_url(url)
    return f"<{safe}|{escape(text)}>" if safe else escape(text)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_text(incident: Incident, names: Mapping[str, str] | None = None) -> str:
    """Status with emoji and who, e.g. ':eyes: Acknowledged by Alice' (config ids shown by their names)."""
    return f"{STATUS_EMOJI[incident.status]} {escape(present.status_line(incident, names))}"


def severity_text(severity: str) -> str:
    """Severity with its coloured circle."""
    return f"{SEVERITY_EMOJI.get(severity, ':white_circle:')} {escape(severity.capitalize())}"


def _date(moment: datetime) -> str:
    """A Slack date token that shows in the reader's time zone, with UTC as the fallback text."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def main_labels(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """The labels to show: the well-known ones first, then the rest, at most MAX_LABELS."""
    known = [(k, labels[k]) for k in MAIN_LABELS if k in labels]
    rest = sorted((k, v) for k, v in labels.items() if k not in MAIN_LABELS)
    return (known + rest)[:MAX_LABELS]


def links_text(incident: Incident, public_url: str) -> str:
    """Dashboard, source graph, runbook and Alertmanager links, separated by dots."""
    return " · ".join(link(found.url, found.name) for found in present.links(incident, public_url))


def fallback_text(incident: Incident) -> str:
    """The plain text of the message (notifications, screen readers)."""
    # Slack reads this text as mrkdwn (notifications): a title's <!channel> must not ping anyone.
    title = escape(f"{incident.severity}: {incident.title}")
    return _truncate(f"[{incident.status.value.upper()}] #{incident.id} {title}", 3000)


def _button(button: present.Button, incident_id: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": button.label, "emoji": True},
        "action_id": ACTION_IDS[button.action],
        "value": str(incident_id),
    }
    if button.style:
        element["style"] = button.style
    return element


def buttons(incident: Incident, silence_enabled: bool) -> list[dict[str, Any]]:
    """The buttons that make sense in the incident's state (none once resolved)."""
    return [_button(b, incident.id) for b in present.buttons(incident.status, silence_enabled)]


def incident_blocks(
    incident: Incident,
    public_url: str,
    silence_enabled: bool = False,
    silenced_until: datetime | None = None,
    names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The Block Kit blocks of an incident's message."""
    header = _truncate(f"#{incident.id} {incident.title}", MAX_HEADER)
    alerts = present.alerts_line(incident)
    fields = [
        f"*Status*\n{status_text(incident, names)}",
        f"*Severity*\n{severity_text(incident.severity)}",
        f"*Alerts*\n{alerts}",
        f"*Opened*\n{_date(incident.created_at)}",
    ]
    if silenced_until is not None and incident.status is not Status.RESOLVED:
        fields.append(f"*Silenced until*\n:no_bell: {_date(silenced_until)}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    summary = incident.summary or incident.description
    if summary:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _truncate(escape(summary), MAX_SECTION)}})
    steps = present.checklist_lines(incident, names)
    if steps:
        text = "\n".join([f"*{escape(steps[0])}*", *(escape(line) for line in steps[1:])])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _truncate(text, MAX_SECTION)}})
    labels = main_labels(incident.labels)
    if labels:
        elements = [{"type": "mrkdwn", "text": f"*{escape(k)}*: `{escape(v)}`"} for k, v in labels]
        blocks.append({"type": "context", "elements": elements})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links_text(incident, public_url)}]})
    actions = buttons(incident, silence_enabled)
    if actions:
        blocks.append({"type": "actions", "block_id": f"incident-{incident.id}", "elements": actions})
    return blocks


def thread_line(event: Event, names: Mapping[str, str] | None = None) -> str:
    """One thread line for a timeline entry, e.g. ':eyes: Acknowledged by Alice via Telegram'."""
    emoji = EVENT_EMOJI.get(event.kind, ":small_blue_diamond:")
    return f"{emoji} {_truncate(escape(present.event_line(event, names)), MAX_SECTION)}"


def reply_text(reply: Reply, public_url: str) -> str:
    """A chat core reply in mrkdwn: its incident linked, a warning sign when it failed."""
    return reply.markup(public_url, ReplyStyle(escape, link, STATUS_EMOJI, ":warning:", incident_list_text))


def incident_list_text(incidents: Sequence[Incident], public_url: str) -> str:
    """The reply to `list`: one line per open incident."""
    if not incidents:
        return ":relieved: No open incidents."
    lines = [f"*{len(incidents)} open incident{'s' if len(incidents) != 1 else ''}*"]
    for incident in incidents[:50]:
        title = link(incident_url(public_url, incident.id), f"#{incident.id} {incident.title}")
        lines.append(f"{STATUS_EMOJI[incident.status]} {title} · {severity_text(incident.severity)}")
    if len(incidents) > 50:
        lines.append(f"… and {len(incidents) - 50} more on the dashboard")
    return _truncate("\n".join(lines), MAX_SECTION)


def help_text(command: str, silence_enabled: bool) -> str:
    """The reply to `help` and to an unknown subcommand."""
    lines = [
        f"*{command}* — Tocsin incidents",
        f"`{command} list` open incidents",
        f"`{command} ack ID` acknowledge incident ID",
        f"`{command} resolve ID [note]` resolve it, with an optional note",
    ]
    if silence_enabled:
        lines.append(f"`{command} silence ID [duration]` silence its alerts in Alertmanager (default 1h)")
    lines += [
        f"`{command} note ID TEXT` add a note to its timeline",
        f"`{command} check ID STEP` / `{command} uncheck ID STEP` tick or untick a step of its checklist",
        f"`{command} postmortem ID` the link to its post-mortem",
        f"`{command} unack ID` unacknowledge it: triggered again, escalation from its first step",
        f"`{command} reassign ID USER` acknowledged by another user of the config, who is told",
        f"`{command} escalate ID` page its escalation's next step now",
        f"`{command} snooze ID [duration]` acknowledge it until then (default 1h), then triggered again",
        f"`{command} maintenance 2h service=\"db\"` a maintenance window from now: matching alerts do not page",
        f"`{command} maintenance list`, `{command} maintenance end ID` the windows, or end one",
        f"`{command} heartbeats` heartbeats and their last pings (`mute ID [duration]`, `unmute ID`)",
        f"`{command} oncall` who is on call now",
        f"`{command} override @USER DURATION [SCHEDULE]` put someone on call from now (yourself, or anyone as an "
        "admin)",
        f"`{command} new TITLE` open an incident by hand",
        f"`{command} new --template TEMPLATE [TITLE]` open one from a response template",
        f"`{command} help` this help",
    ]
    return "\n".join(lines)
