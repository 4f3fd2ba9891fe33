"""What a paged person reads or hears (pure): push titles and texts, the SMS, the call's words and answers."""

from __future__ import annotations

import re

from bot import present
from store.models import Incident

TITLE_MAX = 80
SUMMARY_MAX = 300
SMS_HELP = "Reply 1 to acknowledge, 2 to resolve"


def one_line(text: str, limit: int) -> str:
    """Whitespace folded; cut with an ellipsis past `limit` characters."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def push_title(incident: Incident) -> str:
    """'#42 [critical] Disk full on db1'."""
    return f"#{incident.id} [{incident.severity}] {one_line(incident.title, TITLE_MAX)}"


def push_message(incident: Incident) -> str:
    """The push's text: the summary (else the title), then status and alerts."""
    summary = one_line(incident.summary or incident.title, SUMMARY_MAX)
    return f"{summary}\n{present.status_line(incident)} · alerts: {present.alerts_line(incident)}"


def sms_text(incident: Incident, ack_url: str | None) -> str:
    """'Tocsin #42 [critical] Disk full on db1. Reply 1 to acknowledge, 2 to resolve. Acknowledge: URL'."""
    text = f"Tocsin #{incident.id} [{incident.severity}] {one_line(incident.title, TITLE_MAX)}. {SMS_HELP}."
    return text + (f" Acknowledge: {ack_url}" if ack_url else "")


def sms_help(incident_id: int | None = None) -> str:
    """The answer to a reply Tocsin does not understand."""
    about = f"incident #{incident_id}" if incident_id else "the latest incident texted to you"
    return f"Tocsin: {SMS_HELP} {about}, or add its number (such as '1 42')."


def spoken(text: str) -> str:
    """Text a voice reads well: no markup characters."""
    return one_line(re.sub(r"[<>&#*_`|\[\]{}]", " ", text), 200)


def voice_menu(incident: Incident) -> str:
    """What the call says before waiting for a key."""
    return (f"This is Tocsin. Incident {incident.id}, {incident.severity}: {spoken(incident.title)}. "
            "Press 1 to acknowledge, 2 to resolve, 3 to escalate.")


VOICE_NO_KEY = "No key was pressed. Goodbye."
