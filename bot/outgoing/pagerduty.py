"""PagerDuty out: a route's incidents forwarded to a PagerDuty service through its Events API v2.

Tocsin's incident is PagerDuty's alert, keyed `tocsin-ID` (dedup_key): open and reopen trigger it, acknowledge
acknowledges it, resolve resolves it. A delivery brings PagerDuty to the incident's state as it is, so changes
a burst coalesced (or that PagerDuty missed while it was away) arrive as one catch-up, and sending the same
event twice changes nothing there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.delivery import SendResult, ServiceError
from bot.outgoing.http import GIVE_UP_NOW, Http, failed
from bot.outgoing.settings import PagerDutySettings
from store import deliveries
from store.db import Database
from store.domain.incident import Status
from store.domain.links import incident_url, source_links
from store.domain.outgoing import PAGERDUTY
from store.domain.routing import RouteTable
from store.errors import StoreError
from store.models import Delivery, Event, Incident

TRIGGER, ACKNOWLEDGE, RESOLVE = "trigger", "acknowledge", "resolve"
STARTS = ("opened", "reopened")


def dedup_key(incident: Incident) -> str:
    """The incident's key at PagerDuty."""
    return f"tocsin-{incident.id}"


def actions(delivery: Delivery, incident: Incident, starts: Sequence[Event]) -> list[str]:
    """The events that bring PagerDuty to the incident's state: a trigger for the first delivery or for an open or
    reopen among its changes (`starts`), then its acknowledgement or resolution (a trigger on its own when it is
    simply triggered again)."""
    found = [TRIGGER] if delivery.kind == "open" or starts else []
    if incident.status is Status.ACKNOWLEDGED:
        found.append(ACKNOWLEDGE)
    elif incident.status is Status.RESOLVED:
        found.append(RESOLVE)
    elif not found:
        found.append(TRIGGER)
    return found


def _source(incident: Incident) -> str:
    labels = incident.labels
    return labels.get("instance") or labels.get("service") or labels.get("job") or "tocsin"


def event_body(action: str, routing_key: str, incident: Incident, public_url: str) -> dict[str, Any]:
    """One Events API v2 event about the incident."""
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key(incident)}
    if action != TRIGGER:
        return body
    url = incident_url(public_url, incident.id)
    details = {"status": incident.status.value, "summary": incident.summary, "labels": incident.labels,
               "alerts": f"{incident.firing_alert_count} firing of {incident.alert_count}", "tocsin": url}
    body["payload"] = {
        "summary": f"#{incident.id} {incident.title}"[:1024],
        "source": _source(incident)[:1024],
        "severity": incident.severity,  # Tocsin's severities are PagerDuty's
        "timestamp": incident.triggered_at.isoformat(),
        "custom_details": details,
    }
    if incident.labels.get("alertname"):
        body["payload"]["class"] = incident.labels["alertname"][:1024]
    body["client"] = "Tocsin"
    body["client_url"] = url
    body["links"] = [{"href": url, "text": f"Tocsin incident #{incident.id}"}] + [
        {"href": link.url, "text": link.name} for link in source_links(incident.links)
    ]
    return body


class PagerDutyChannel:
    """The delivery channel: the incident's route names the PagerDuty service (its routing key stays in the config)."""

    name = PAGERDUTY

    def __init__(
        self, db: Database, settings: PagerDutySettings, routes: Callable[[], RouteTable], public_url: str
    ) -> None:
        self.db = db
        self.settings = settings
        self.routes = routes
        self.public_url = public_url
        self.http = Http("PagerDuty")

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Send the events that bring PagerDuty to the incident's state; never raises for PagerDuty's failures."""
        route = self.routes().by_id(delivery.target)
        if route.id != delivery.target or route.pagerduty is None:
            return SendResult(False, retry_after=GIVE_UP_NOW, error=f"route {delivery.target} no longer forwards to "
                              "PagerDuty (routes[].pagerduty)")
        try:
            starts = await deliveries.events_of(self.db, delivery, STARTS)
        except StoreError as exc:
            return SendResult(False, error=f"reading the changes to send: {exc.message}")
        for action in actions(delivery, incident, starts):
            body = event_body(action, route.pagerduty.routing_key, incident, self.public_url)
            try:
                answer = await self.http.request("POST", self.settings.events_url, json_body=body)
            except ServiceError as exc:
                return exc.result()
            if not answer.ok:
                # 400: PagerDuty refuses this event as it is (a wrong routing key, say); sending it again cannot help.
                return failed("PagerDuty", answer, action, permanent=answer.status == 400)
        return SendResult(True, external_ref=dedup_key(incident))

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()
