"""Outgoing webhooks: each change of an incident that a webhook names is POSTed to it, signed, through the outbox.

Each webhook of the config is a delivery channel of its own ("webhook:ID"), so a receiver that is down or slow
delays only its own messages. The body is the event and the incident as the API shows them, or the webhook's
Jinja2 template of it. With a `secret`, the header `X-Tocsin-Signature: t=UNIX,v1=HEX` carries HEX =
HMAC-SHA256(secret, "UNIX.BODY"): receivers check it and that UNIX is recent (docs/integrations.md).
A burst of changes coalesced into one delivery is sent as one request per change, in order; a retry sends
them all again, so receivers deduplicate on `X-Tocsin-Event-Id` (the timeline entry's id).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from bot.delivery import SendResult, ServiceError
from bot.outgoing.http import GIVE_UP_NOW, Http, failed
from store import deliveries
from store.db import Database
from store.domain.delivery import notifies
from store.domain.jinja_templates import TemplateFailed, render
from store.domain.outgoing import WEBHOOK_EVENTS, WEBHOOK_PREFIX, Webhook
from store.domain.routing import RouteTable
from store.errors import StoreError
from store.models import Delivery, Event, Incident

SIGNATURE = "X-Tocsin-Signature"
Shape = Callable[[Any], dict[str, Any]]  # an incident or an event as the API shows it


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Tocsin-Signature value: t=UNIX,v1=hex(HMAC-SHA256(secret, "UNIX.BODY"))."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(webhook: Webhook, incident: dict[str, Any], event: dict[str, Any]) -> tuple[bytes, str]:
    """The request body and its content type: the webhook's template rendered (JSON when it parses as JSON, else
    text), or {"webhook", "event", "incident"}. TemplateFailed when the template cannot be rendered."""
    if webhook.template is None:
        document = {"webhook": webhook.id, "event": event, "incident": incident}
        return json.dumps(document, ensure_ascii=False).encode(), "application/json"
    text = render(webhook.template, {"incident": incident, "event": event})
    try:
        json.loads(text)
    except ValueError:
        return text.encode(), "text/plain; charset=utf-8"
    return text.encode(), "application/json"


def headers_of(webhook: Webhook, event: Event, body: bytes, content_type: str, now: float) -> dict[str, str]:
    """The request's headers: content type, the event, its id, and the signature when the webhook has a secret."""
    headers = {"Content-Type": content_type, "X-Tocsin-Event": event.kind, "X-Tocsin-Event-Id": str(event.id),
               "X-Tocsin-Webhook": webhook.id}
    if webhook.secret:
        headers[SIGNATURE] = signature(webhook.secret, int(now), body)
    return headers


class WebhookChannel:
    """One outgoing webhook as a delivery channel; it finds its URL, secret and template in the config as it is."""

    def __init__(self, family: WebhookChannels, webhook_id: str) -> None:
        self.family = family
        self.webhook_id = webhook_id
        self.name = f"{WEBHOOK_PREFIX}{webhook_id}"

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """POST each change of the delivery the webhook hears of; never raises for the receiver's failures."""
        webhook = next((w for w in self.family.routes().webhooks if w.id == self.webhook_id), None)
        if webhook is None:
            return SendResult(False, retry_after=GIVE_UP_NOW, error=f"webhook {self.webhook_id} is no longer in "
                              "the config file")
        spec = incident.channels.get(self.name)
        try:
            found = await deliveries.events_of(self.family.db, delivery, WEBHOOK_EVENTS)
        except StoreError as exc:
            return SendResult(False, error=f"reading the changes to send: {exc.message}")
        events = [e for e in found if notifies(self.name, e.kind, spec)]
        document = self.family.incident_json(incident)
        status = None
        for event in events:
            try:
                body, content_type = body_of(webhook, document, self.family.event_json(event))
            except TemplateFailed as exc:
                return SendResult(False, retry_after=GIVE_UP_NOW, error=f"template of webhook {webhook.id}: {exc}")
            try:
                answer = await self.family.http.request(
                    "POST", webhook.url, data=body, headers=headers_of(webhook, event, body, content_type, time.time())
                )
            except ServiceError as exc:
                return exc.result()
            if not answer.ok:
                return failed(f"webhook {webhook.id}", answer, f"{event.kind} (event {event.id})")
            status = answer.status
        return SendResult(True, external_ref=f"HTTP {status}" if status else "no change to send")


class WebhookChannels:
    """The family of webhook channels: one per webhook of the config as it is now (the registry asks each pass)."""

    def __init__(self, db: Database, routes: Callable[[], RouteTable], incident_json: Shape, event_json: Shape) -> None:
        self.db = db
        self.routes = routes
        self.incident_json = incident_json
        self.event_json = event_json
        self.http = Http("the receiver")
        self._channels: dict[str, WebhookChannel] = {}

    def names(self) -> list[str]:
        """The channel of every webhook in the config."""
        return [w.channel for w in self.routes().webhooks]

    def get(self, name: str) -> WebhookChannel | None:
        """The channel of this name, if it is a webhook's."""
        if not name.startswith(WEBHOOK_PREFIX):
            return None
        if name not in self._channels:
            self._channels[name] = WebhookChannel(self, name.removeprefix(WEBHOOK_PREFIX))
        return self._channels[name]

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()
