"""The seam for SMS and voice providers, and the two delivery channels built on it.

A provider (bot/paging/twilio.py is one) sends texts and starts calls, checks that a request to its webhooks
(`/NAME/sms`, `/NAME/voice`) comes from it, reads what the person answered, and writes its answers (TwiML
for Twilio). Another provider is one more module implementing PhoneProvider, turned on in bot/paging/app.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.delivery import SendResult, ServiceError
from bot.paging import render
from bot.paging.common import Paging, paging_over
from store import page_actions
from store.domain.action_links import ACK, CALL
from store.models import Delivery, Event, Incident


@dataclass(frozen=True, slots=True)
class IncomingSms:
    """A text a person sent to the provider's number."""

    sender: str
    text: str
    message_id: str


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A request about a call Tocsin made: `digits` are the keys pressed (None: the call was just answered)."""

    call_id: str
    digits: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer to the provider: its body and content type."""

    body: str
    content_type: str


class PhoneProvider(Protocol):
    """An SMS and voice provider."""

    name: str  # its webhooks are /NAME/sms and /NAME/voice

    async def send_sms(self, to: str, text: str) -> str:
        """Send a text; the provider's id of the message. Raises ServiceError (429 with retry_after)."""
        ...

    async def call(self, to: str, answer_url: str) -> str:
        """Call a number; the provider asks answer_url what to say. The call's id; raises ServiceError."""
        ...

    def verify(self, url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        """True when a request to `url` with this form really comes from the provider."""
        ...

    def incoming_sms(self, form: Mapping[str, str]) -> IncomingSms | None:
        """The text a webhook request carries (None: not a text)."""
        ...

    def incoming_call(self, form: Mapping[str, str]) -> IncomingCall | None:
        """The call a webhook request is about (None: not a call)."""
        ...

    def reply(self, text: str) -> Answer:
        """An answer that texts `text` back."""
        ...

    def menu(self, words: str, action_url: str, goodbye: str) -> Answer:
        """An answer that says `words`, waits for one key and posts it to action_url (else says goodbye)."""
        ...

    def say(self, words: str) -> Answer:
        """An answer that says `words` and hangs up."""
        ...

    async def close(self) -> None:
        """Release the provider's connections."""
        ...


class PhoneChannel:
    """A text (channel "sms") or call (channel "voice") per page, at most one a minute per number."""

    def __init__(self, name: str, provider: PhoneProvider, paging: Paging) -> None:
        if name not in ("sms", "voice"):
            raise ValueError(f"phone channel {name!r}: expected sms or voice")
        self.name = name
        self.provider = provider
        self.paging = paging

    def text(self, delivery: Delivery, incident: Incident) -> str:
        """The SMS: the incident's number, title, the reply codes and a one-tap acknowledge link."""
        user = self.paging.user_for(self.name, delivery.target)
        return render.sms_text(incident, self.paging.link(incident.id, ACK, user, self.name))

    def answer_url(self, delivery: Delivery, incident: Incident) -> str:
        """Where the provider asks what the call says: the voice webhook with a token naming incident and person."""
        user = self.paging.user_for(self.name, delivery.target)
        token = self.paging.token(incident.id, CALL, user.id, self.name) if user else None
        base = f"{self.paging.settings.public_url}/{self.provider.name}/voice"
        return f"{base}?t={token}" if token else base

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Text or call the number, unless the incident is no longer triggered or the number had a message in the
        last minute (then retry when its slot frees)."""
        skipped = paging_over(delivery, incident)
        if skipped is not None:
            return skipped
        db = self.paging.runtime().db
        wait, taken_at = await page_actions.reserve_send(db, delivery.target, self.paging.settings.send_interval)
        if taken_at is None:
            return SendResult(False, retry_after=wait, error=f"at most one message a minute to {delivery.target}; "
                                                             f"next in {wait:.0f}s")
        try:
            if self.name == "sms":
                ref = await self.provider.send_sms(delivery.target, self.text(delivery, incident))
            else:
                ref = await self.provider.call(delivery.target, self.answer_url(delivery, incident))
        except ServiceError as exc:
            await page_actions.release_send(db, delivery.target, taken_at)
            return exc.result()
        return SendResult(True, external_ref=ref)
