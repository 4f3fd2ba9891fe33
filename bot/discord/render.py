"""An incident as a Discord message: one embed and a row of buttons (pure: no I/O).

Discord refuses a message over its limits (embed title 256, description 4,096, field value 1,024, 25
fields, 6,000 characters in all embeds, 2,000 in `content`, button labels 80, custom ids 100), so every
text is cut to fit before it is sent. Alert text is escaped so that it shows as written, and no message
may mention anyone (`allowed_mentions` is empty).
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

ACTION_IDS = {present.ACK: "ack_incident", present.RESOLVE: "resolve_incident", present.SILENCE: "silence_incident"}
ACTIONS = {custom_id: action for action, custom_id in ACTION_IDS.items()}
STYLES = {"primary": 1, "danger": 4, None: 2}  # Discord button styles: primary, danger, secondary
COLOURS = {Status.TRIGGERED: 0xCF222E, Status.ACKNOWLEDGED: 0xBF8700, Status.RESOLVED: 0x1A7F37}
STATUS_EMOJI = {Status.TRIGGERED: "🚨", Status.ACKNOWLEDGED: "👀", Status.RESOLVED: "✅"}
MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELD = 1024
MAX_EMBED_TOTAL = 6000
EVENTS_SHOWN = 5
LABELS_SHOWN = 10
NO_MENTIONS: dict[str, Any] = {"parse": []}
_MARKDOWN = re.compile(r"([\\*_~`|\[\]()<>])")
_LINE_START = re.compile(r"(?m)^(\s*)([#>\-])")


def escape(text: str) -> str:
    """Discord markdown shown as written: inline marks, and headings, quotes and lists at a line's start."""
    return _LINE_START.sub(r"\1\\\2", _MARKDOWN.sub(r"\\\1", text))


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending with '…' when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _link(url: str, text: str) -> str:
    safe = url.replace(")", "%29").replace(" ", "%20")
    inline = _MARKDOWN.sub(r"\\\1", text)  # inside a link, only inline marks matter
    return f"[{inline}]({safe})"


def _when(moment: datetime) -> str:
    """A Discord timestamp, shown in the reader's time zone."""
    return f"<t:{int(moment.timestamp())}:f>"


def buttons(incident: Incident, silence_enabled: bool) -> list[dict[str, Any]]:
    """One action row with the presentation's buttons (custom_id `ack_incident:ID` …); none once resolved."""
    row = [
        {"type": 2, "style": STYLES[b.style], "label": b.label, "custom_id": f"{ACTION_IDS[b.action]}:{incident.id}"}
        for b in present.buttons(incident.status, silence_enabled)
    ]
    return [{"type": 1, "components": row}] if row else []


def _labels(labels: Mapping[str, str]) -> str:
    shown = sorted(labels.items())[:LABELS_SHOWN]
    text = "\n".join(f"`{cut(k, 64).replace('`', 'ˋ')}` = {escape(cut(v, 100))}" for k, v in shown)
    more = len(labels) - len(shown)
    return cut(text + (f"\n… and {more} more on the dashboard" if more > 0 else ""), MAX_FIELD)


def incident_embed(
    incident: Incident,
    events: Sequence[Event],
    public_url: str,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The embed of an incident's message."""
    shown = present.present(incident, events, public_url=public_url, names=names)
    fields = [
        {"name": "Status", "value": f"{STATUS_EMOJI[incident.status]} {escape(shown.status)}", "inline": True},
        {"name": "Severity", "value": escape(incident.severity.capitalize()), "inline": True},
        {"name": "Alerts", "value": shown.alerts, "inline": True},
        {"name": "Opened", "value": _when(incident.created_at), "inline": True},
    ]
    if shown.silenced_until is not None:
        fields.append({"name": "Silenced until", "value": _when(shown.silenced_until), "inline": True})
    if incident.labels:
        fields.append({"name": "Labels", "value": _labels(incident.labels), "inline": False})
    links = " · ".join(_link(link.url, link.name) for link in shown.links)
    fields.append({"name": "Links", "value": cut(links, MAX_FIELD), "inline": False})
    latest = [f"{_when(e.created_at)} {escape(present.event_line(e, names))}" for e in list(events)[-EVENTS_SHOWN:]]
    if latest:
        fields.append({"name": "Timeline", "value": cut("\n".join(latest), MAX_FIELD), "inline": False})
    summary = incident.summary or incident.description
    embed: dict[str, Any] = {
        "title": cut(f"#{incident.id} {incident.title}", MAX_TITLE),
        "url": shown.url,
        "color": COLOURS[incident.status],
        "fields": fields,
    }
    if summary:
        embed["description"] = cut(escape(summary), MAX_DESCRIPTION)
    return _fit(embed)


def _fit(embed: dict[str, Any]) -> dict[str, Any]:
    """Drop the timeline, then shorten the description, until the embed is within 6,000 characters."""

    def size() -> int:
        texts = [embed.get("title", ""), embed.get("description", "")]
        texts += [f["name"] + f["value"] for f in embed["fields"]]
        return sum(len(t) for t in texts)

    if size() > MAX_EMBED_TOTAL and embed["fields"][-1]["name"] == "Timeline":
        embed["fields"].pop()
    excess = size() - MAX_EMBED_TOTAL
    if excess > 0 and "description" in embed:
        embed["description"] = cut(embed["description"], max(len(embed["description"]) - excess, 1))
    return embed


def fallback_text(incident: Incident) -> str:
    """The `content` beside the embed: what notifications show."""
    return cut(f"[{incident.status.value.upper()}] #{incident.id} {escape(incident.severity)}: "
               f"{escape(incident.title)}", MAX_CONTENT)


def incident_message(
    incident: Incident,
    events: Sequence[Event],
    public_url: str,
    silence_enabled: bool,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON body of the message (create or edit)."""
    return {
        "content": fallback_text(incident),
        "embeds": [incident_embed(incident, events, public_url, names)],
        "components": buttons(incident, silence_enabled),
        "allowed_mentions": NO_MENTIONS,
    }


def reply_text(reply: Reply, public_url: str) -> str:
    """A chat core reply as Discord markdown (ephemeral): its incident linked, a warning sign when it failed."""
    style = ReplyStyle(escape, lambda url, text: _link(url, cut(text, 200)), STATUS_EMOJI, "⚠️", incident_list_text)
    return cut(reply.markup(public_url, style), MAX_CONTENT)


def incident_list_text(incidents: Sequence[Incident], public_url: str) -> str:
    """The answer to `/incident list`: one line per open incident, within 2,000 characters."""
    if not incidents:
        return "😌 No open incidents."
    lines = [f"**{len(incidents)} open incident{'s' if len(incidents) != 1 else ''}**"]
    for incident in incidents:
        line = (f"{STATUS_EMOJI[incident.status]} "
                f"{_link(incident_url(public_url, incident.id), cut(f'#{incident.id} {incident.title}', 90))}"
                f" · {escape(incident.severity)}")
        if sum(len(x) + 1 for x in lines) + len(line) > MAX_CONTENT - 40:
            lines.append("… and more on the dashboard")
            break
        lines.append(line)
    return "\n".join(lines)


def mention_free(text: str) -> dict[str, Any]:
    """A plain message (an announcement) that pings no one."""
    return {"content": cut(escape(text), MAX_CONTENT), "allowed_mentions": NO_MENTIONS}
