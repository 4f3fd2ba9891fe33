"""Push through ntfy (self-hosted or the public server): a notification with Acknowledge and Resolve buttons.

The buttons are ntfy "http" actions: the phone POSTs to the incident's signed one-tap links, so a tap acts
in Tocsin without opening anything, recorded as the person through ntfy. Critical incidents go out with
priority 5 (urgent: it breaks through Do Not Disturb where the app is allowed to), the others with 4 (high).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.delivery import SendResult
from bot.paging import render
from bot.paging.common import Paging, paging_over
from bot.paging.http import ProviderError, ProviderHttp
from bot.paging.settings import NtfySettings
from store.domain.action_links import ACK, RESOLVE
from store.domain.links import incident_url
from store.models import Delivery, Event, Incident

URGENT, HIGH = 5, 4


class NtfyChannel:
    """The delivery channel "ntfy": each page publishes one notification to the person's topic."""

    name = "ntfy"

    def __init__(self, settings: NtfySettings, paging: Paging) -> None:
        self.settings = settings
        self.paging = paging
        self.http = ProviderHttp("ntfy")

    def message(self, delivery: Delivery, incident: Incident) -> dict[str, Any]:
        """The JSON ntfy publishes (topic, title, text, priority, click, action buttons)."""
        user = self.paging.user_for(self.name, delivery.target)
        actions = []
        for action, label in ((ACK, "Acknowledge"), (RESOLVE, "Resolve")):
            url = self.paging.link(incident.id, action, user, self.name)
            if url:
                actions.append({"action": "http", "label": label, "url": url, "method": "POST", "clear": True})
        return {
            "topic": delivery.target,
            "title": render.push_title(incident),
            "message": render.push_message(incident),
            "priority": URGENT if incident.severity == "critical" else HIGH,
            "tags": ["rotating_light"],
            "click": incident_url(self.paging.settings.public_url, incident.id),
            "actions": actions,
        }

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Publish the page; never raises for ntfy's or the network's failures."""
        skipped = paging_over(delivery, incident)
        if skipped is not None:
            return skipped
        headers = {"Authorization": f"Bearer {self.settings.token}"} if self.settings.token else {}
        try:
            body = self.message(delivery, incident)
            data = await self.http.call("POST", f"{self.settings.url}/", "publish", json=body, headers=headers)
        except ProviderError as exc:
            return exc.result()
        return SendResult(True, external_ref=str((data or {}).get("id") or "") or None)
