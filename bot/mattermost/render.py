"""An incident as a Mattermost post: a message attachment with interactive buttons (pure: no I/O).

Each button posts to MATTERMOST_ACTIONS_URL with a context that carries the action, the incident and
MATTERMOST_ACTION_SECRET (Mattermost keeps the context on the server; people never see it). Mattermost
refuses a post whose message is over 16,383 characters, so every text is cut to fit; alert text is
escaped so that it shows as written, and @-mentions in it never notify anyone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot import present
from bot.actions import Reply, ReplyStyle
from store.domain.incident import Status
from store.domain.links import incident_url
from store.models import Event, Incident

COLOURS = {Status.TRIGGERED: "#cf222e", Status.ACKNOWLEDGED: "#bf8700", Status.RESOLVED: "#1a7f37"}
STATUS_EMOJI = present.STATUS_SHORTCODES
STYLES = {"primary": "primary", "danger": "danger", None: "default"}
MAX_MESSAGE = 16_383
MAX_TEXT = 4000
MAX_FIELD = 1000
EVENTS_SHOWN = 5
_MARKDOWN = re.compile(r"([\\*_~`|\[\]()<>#])")


def escape(text: str) -> str:
    """Markdown shown as written; '@' followed by a zero-width joiner, so no mention notifies anyone."""
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@\u2060")


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending with '…' when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _link(url: str, text: str) -> str:
    return f"[{escape(text)}]({url.replace(')', '%29').replace(' ', '%20')})"


def _when(moment: datetime) -> str:
    return present.utc_time(moment)


def actions(incident: Incident, silence_enabled: bool, url: str, secret: str) -> list[dict[str, Any]]:
    """The presentation's buttons as Mattermost integration actions (none once resolved)."""
    return [
        {
            "id": f"{b.action}{incident.id}",  # letters and digits only, as Mattermost wants
            "type": "button",
            "name": b.label,
            "style": STYLES[b.style],
            "integration": {"url": url, "context": {"action": b.action, "incident_id": incident.id, "secret": secret}},
        }
        for b in present.buttons(incident.status, silence_enabled)
    ]


def attachment(
    incident: Incident, events: Sequence[Event], public_url: str, names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The attachment (without actions) of an incident's post."""
    shown = present.present(incident, events, public_url=public_url, names=names)
    fields = [
        {"short": True, "title": "Status", "value": f"{STATUS_EMOJI[incident.status]} {escape(shown.status)}"},
        {"short": True, "title": "Severity", "value": escape(incident.severity.capitalize())},
        {"short": True, "title": "Alerts", "value": shown.alerts},
        {"short": True, "title": "Opened", "value": _when(incident.created_at)},
    ]
    if shown.silenced_until is not None:
        fields.append({"short": True, "title": "Silenced until", "value": _when(shown.silenced_until)})
    if shown.checklist:
        steps = "\n".join(escape(line) for line in shown.checklist[1:])
        fields.append({"short": False, "title": shown.checklist[0], "value": cut(steps, MAX_FIELD)})
    if incident.labels:
        labels = ", ".join(f"`{cut(k, 64).replace('`', 'ˋ')}={cut(v, 100).replace('`', 'ˋ')}`"
                           for k, v in sorted(incident.labels.items())[:12])
        fields.append({"short": False, "title": "Labels", "value": cut(labels, MAX_FIELD)})
    fields.append({"short": False, "title": "Links", "value": " · ".join(_link(x.url, x.name) for x in shown.links)})
    latest = [f"{_when(e.created_at)} {escape(present.event_line(e, names))}" for e in list(events)[-EVENTS_SHOWN:]]
    if latest:
        fields.append({"short": False, "title": "Timeline", "value": cut("\n".join(latest), MAX_FIELD)})
    return {
        "fallback": cut(f"[{incident.status.value.upper()}] #{incident.id} {incident.title}", 300),
        "color": COLOURS[incident.status],
        "title": cut(f"#{incident.id} {incident.title}", 250),
        "title_link": shown.url,
        "text": cut(escape(incident.summary or incident.description), MAX_TEXT),
        "fields": fields,
    }


def incident_post(
    incident: Incident,
    events: Sequence[Event],
    public_url: str,
    silence_enabled: bool,
    actions_url: str,
    secret: str,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The post's `message` and `props` (create or patch)."""
    card = attachment(incident, events, public_url, names)
    card["actions"] = actions(incident, silence_enabled, actions_url, secret)
    message = f"{STATUS_EMOJI[incident.status]} **{escape(cut(incident.title, 300))}** ({escape(incident.severity)})"
    return {"message": cut(message, MAX_MESSAGE), "props": {"attachments": [card]}}


def reply_text(reply: Reply, public_url: str) -> str:
    """A chat core reply in Mattermost markdown: its incident linked, a warning sign when it failed."""
    return reply.markup(public_url, ReplyStyle(escape, _link, STATUS_EMOJI, ":warning:", incident_list_text))


def incident_list_text(incidents: Sequence[Incident], public_url: str) -> str:
    """The answer to `/incident list`."""
    if not incidents:
        return ":relieved: No open incidents."
    lines = [f"**{len(incidents)} open incident{'s' if len(incidents) != 1 else ''}**"]
    for incident in incidents[:50]:
        link = _link(incident_url(public_url, incident.id), cut(f"#{incident.id} {incident.title}", 120))
        lines.append(f"{STATUS_EMOJI[incident.status]} {link} · {escape(incident.severity)}")
    if len(incidents) > 50:
        lines.append(f"… and {len(incidents) - 50} more on the dashboard")
    return "\n".join(lines)


def help_text(silence_enabled: bool) -> str:
    """The answer to `/incident help` and an unknown subcommand."""
    lines = ["**/incident** — Tocsin incidents", "`/incident list` open incidents",
             "`/incident ack ID` acknowledge incident ID", "`/incident resolve ID [note]` resolve it, with a note",
             "`/incident note ID TEXT` add a note to its timeline"]
    if silence_enabled:
        lines.append("`/incident silence ID [duration]` silence its alerts in Alertmanager (default 1h)")
    lines += ["`/incident check ID STEP` / `/incident uncheck ID STEP` tick or untick a step of its checklist",
              "`/incident postmortem ID` the link to its post-mortem",
              "`/incident unack ID` unacknowledge it", "`/incident reassign ID USER` hand it to another user",
              "`/incident escalate ID` page the next escalation step now",
              "`/incident snooze ID [duration]` acknowledge it until then (default 1h)",
              "`/incident maintenance 2h service=\"db\"` a maintenance window (also `list`, `end ID`)",
              "`/incident heartbeats` heartbeats (`heartbeats mute ID [duration]`, `heartbeats unmute ID`)",
              "`/incident oncall` who is on call now",
              "`/incident override @USER DURATION [SCHEDULE]` put someone on call from now",
              "`/incident new TITLE` open an incident by hand",
              "`/incident new --template TEMPLATE [TITLE]` open one from a response template"]
    return "\n".join(lines)
