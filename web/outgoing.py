"""Composition of the outgoing integrations: PagerDuty and Jira channels and the outgoing webhooks' family, given
the API's shapes of incidents and events (so a webhook's body is the incident as the API shows it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from bot.delivery import Channel
from bot.outgoing.jira import JiraChannel
from bot.outgoing.jira_api import JiraApi
from bot.outgoing.pagerduty import PagerDutyChannel
from bot.outgoing.webhooks import WebhookChannels
from store.db import Database
from store.domain.routing import RouteTable
from web.api.shapes import event_json, incident_json
from web.settings import Settings


@dataclass(slots=True)
class Outgoing:
    """PagerDuty's and Jira's channels and the webhooks' family, to register and, at the end, to close."""

    pagerduty: PagerDutyChannel
    webhooks: WebhookChannels
    jira: JiraChannel | None = None

    def channels(self) -> list[Channel]:
        """The channels to register (the webhooks are a family of their own)."""
        return [self.pagerduty] if self.jira is None else [self.pagerduty, self.jira]

    async def close(self) -> None:
        """Close every HTTP session."""
        await self.pagerduty.close()
        await self.webhooks.close()
        if self.jira is not None:
            await self.jira.api.close()


def build_outgoing(
    settings: Settings, db: Database, routes: Callable[[], RouteTable], names: Mapping[str, str]
) -> Outgoing:
    """PagerDuty (always: a route may name a service at any config version), Jira when JIRA_URL is set, webhooks."""
    shape = partial(incident_json, public_url=settings.http.public_url)
    outgoing = Outgoing(PagerDutyChannel(db, settings.pagerduty, routes, settings.http.public_url),
                        WebhookChannels(db, routes, shape, event_json))
    if settings.jira is not None:
        outgoing.jira = JiraChannel(db, JiraApi(settings.jira), routes, shape, event_json, names)
    return outgoing


def config_needs(settings: Settings, routes: RouteTable) -> list[tuple[str, str]]:
    """(config path, problem) for routes that need settings that are not set: a `jira` route without JIRA_URL."""
    if settings.jira is not None:
        return []
    return [(f"routes[{index}].jira", "JIRA_URL is not set; expected JIRA_URL with JIRA_EMAIL and JIRA_API_TOKEN "
             "(Jira Cloud) or JIRA_PAT (Data Center) for routes that open Jira issues")
            for index, route in enumerate(routes.routes) if route.jira is not None]
