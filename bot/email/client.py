"""The email channel: one mail per open, acknowledge and resolve, threaded per incident, sent with aiosmtplib."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib

from bot.delivery import SendResult
from bot.email.render import render_email
from bot.email.settings import EmailSettings
from store.models import Delivery, Event, Incident

# One-tap links (label, URL) for a mail to this address about this incident (none for an address of no person).
ActionLinks = Callable[[Incident, str], list[tuple[str, str]]]


class EmailChannel:
    """Sends incident mails to one address per delivery; later mails reply to the first (one thread)."""

    name = "email"

    def __init__(
        self,
        settings: EmailSettings,
        tls_context: ssl.SSLContext | None = None,
        names: Mapping[str, str] | None = None,
        actions: ActionLinks | None = None,
    ) -> None:
        self.settings = settings
        self.actions = actions
        self.tls_context = tls_context
        self.names = dict(names or {})
        self.domain = parseaddr(settings.from_addr)[1].rpartition("@")[2] or "tocsin.invalid"

    def build(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> EmailMessage:
        """The mail for this delivery: multipart text and HTML, with threading headers on updates."""
        actions = self.actions(incident, delivery.target) if self.actions else []
        rendered = render_email(incident, delivery.event_kind, recent_events, self.settings.public_url, self.names,
                                actions)
        message = EmailMessage()
        message["Subject"] = rendered.subject
        message["From"] = self.settings.from_addr
        message["To"] = delivery.target
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(idstring=f"incident-{incident.id}", domain=self.domain)
        if delivery.kind == "update" and delivery.external_ref:
            message["In-Reply-To"] = delivery.external_ref
            message["References"] = delivery.external_ref
        message["X-Tocsin-Incident"] = str(incident.id)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Hand the mail to the SMTP server; its Message-ID is the reference later mails reply to."""
        message = self.build(delivery, incident, recent_events)
        s = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.username,
                password=s.password,
                use_tls=s.tls == "tls",
                start_tls=s.tls == "starttls",
                tls_context=self.tls_context,
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPException as exc:
            return SendResult(False, error=f"SMTP {s.smtp_host}:{s.smtp_port}: {_describe(exc)}")
        except (OSError, ssl.SSLError) as exc:
            return SendResult(False, error=f"SMTP {s.smtp_host}:{s.smtp_port}: {type(exc).__name__}: {exc}")
        return SendResult(True, external_ref=message["Message-ID"])


def _describe(exc: aiosmtplib.SMTPException) -> str:
    code = getattr(exc, "code", None)
    text = getattr(exc, "message", None) or str(exc)
    return f"{code} {text}" if code else f"{type(exc).__name__}: {text}"
