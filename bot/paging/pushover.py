"""Push through Pushover: emergency priority for critical incidents, acknowledged back into Tocsin.

An emergency message repeats on the phone until the person acknowledges it in the Pushover app; Pushover
then calls PUBLIC_URL/pushover/callback with the message's receipt. That request is not signed, so Tocsin
acts only on a receipt it sent and only after asking Pushover's receipt API that it was acknowledged, and
by whom. When the incident is acknowledged or resolved anywhere else, Tocsin cancels the repetition
(cancel_by_tag), so nothing rings after the acknowledgement. Other severities go out with high priority.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.delivery import SendResult
from bot.paging import render
from bot.paging.common import Paging, paging_over
from bot.paging.http import ProviderError, ProviderHttp
from bot.paging.settings import PushoverSettings
from store.domain.action_links import ACK
from store.models import Delivery, Event, Incident

EMERGENCY, HIGH = 2, 1
RETRY_SECONDS = 60  # an emergency message repeats this often until acknowledged (Pushover's minimum is 30)
EXPIRE_SECONDS = 3600  # and stops repeating after this long (Pushover's maximum is 10800)
STOPS = ("acknowledged", "resolved")


def tag_of(incident_id: int) -> str:
    """The tag every emergency message of an incident carries, to cancel them together."""
    return f"tocsin-incident-{incident_id}"


class PushoverApi:
    """The Pushover calls Tocsin makes, with the application's token."""

    def __init__(self, settings: PushoverSettings) -> None:
        self.settings = settings
        self.http = ProviderHttp("Pushover")

    async def send(self, form: dict[str, Any]) -> str | None:
        """Send a message; its receipt (emergency messages only)."""
        data = await self.http.call("POST", f"{self.settings.api_url}/1/messages.json", "messages",
                                    data={**form, "token": self.settings.app_token})
        return (data or {}).get("receipt")

    async def receipt(self, receipt: str) -> dict[str, Any]:
        """What Pushover knows of an emergency message: acknowledged (0/1), acknowledged_by (user key), …"""
        url = f"{self.settings.api_url}/1/receipts/{receipt}.json"
        return await self.http.call("GET", url, "receipts", params={"token": self.settings.app_token}) or {}

    async def cancel(self, incident_id: int) -> None:
        """Stop the repetition of the incident's emergency messages."""
        url = f"{self.settings.api_url}/1/receipts/cancel_by_tag/{tag_of(incident_id)}.json"
        await self.http.call("POST", url, "cancel", data={"token": self.settings.app_token})


class PushoverChannel:
    """The delivery channel "pushover": a page sends a message; the acknowledgement or resolution cancels it."""

    name = "pushover"

    def __init__(self, api: PushoverApi, paging: Paging) -> None:
        self.api = api
        self.paging = paging

    def form(self, delivery: Delivery, incident: Incident) -> dict[str, Any]:
        """The message's form fields (without the token)."""
        user = self.paging.user_for(self.name, delivery.target)
        form: dict[str, Any] = {
            "user": delivery.target,
            "title": render.push_title(incident),
            "message": render.push_message(incident),
            "priority": EMERGENCY if incident.severity == "critical" else HIGH,
            "url": self.paging.link(incident.id, ACK, user, self.name) or "",
            "url_title": f"Acknowledge #{incident.id}",
        }
        if form["priority"] == EMERGENCY:
            form.update(retry=RETRY_SECONDS, expire=EXPIRE_SECONDS, tags=tag_of(incident.id),
                        callback=f"{self.paging.settings.public_url}/pushover/callback")
        return form

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Send the page, or cancel its repetition once the incident is acknowledged or resolved."""
        try:
            if delivery.kind == "update" and delivery.event_kind in STOPS:
                await self.api.cancel(incident.id)
                return SendResult(True)
            skipped = paging_over(delivery, incident)
            if skipped is not None:
                return skipped
            receipt = await self.api.send(self.form(delivery, incident))
        except ProviderError as exc:
            return exc.result()
        return SendResult(True, external_ref=receipt)
