"""Routes: where an alert's incident goes, how it is grouped and when it resolves or reopens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from store.domain.outgoing import JiraTarget, PagerDutyTarget, Webhook

from store.domain.sla import SlaTarget
from store.domain.templates import Template

DEFAULT_REOPEN_WITHIN = timedelta(minutes=5)
DEFAULT_FLAP_THRESHOLD = 4  # more than this many state changes ...
DEFAULT_FLAP_WINDOW = timedelta(hours=1)  # ... within this long: flapping


class LabelMatcher(Protocol):
    """Anything that can tell whether a label set matches (see store.domain.matchers)."""

    def matches(self, labels: Mapping[str, str]) -> bool: ...


@dataclass(frozen=True, slots=True)
class Route:
    """One route of the config file, or the default route built from the settings."""

    id: str
    matchers: tuple[LabelMatcher, ...] = ()
    escalation: str | None = None
    slack_channel: str | None = None
    telegram_chats: tuple[str, ...] = ()  # "chat_id" or "chat_id:topic_id"
    email: tuple[str, ...] = ()
    discord_channel: str | None = None
    mattermost_channel: str | None = None
    group_by: tuple[str, ...] | None = None  # None: Alertmanager's groupKey
    auto_resolve: bool = True
    reopen_within: timedelta = DEFAULT_REOPEN_WITHIN
    sla: SlaTarget | None = None
    template: Template | None = None  # attached to the incidents this route's alerts open
    pagerduty: PagerDutyTarget | None = None  # forward its incidents to this PagerDuty service
    jira: JiraTarget | None = None  # open a Jira issue for each of its incidents
    ack_timeout: timedelta | None = None  # None: the escalation policy's, else never
    remind_every: timedelta | None = None
    flap_threshold: int = DEFAULT_FLAP_THRESHOLD  # 0: no flap detection
    flap_window: timedelta = DEFAULT_FLAP_WINDOW

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every matcher of the route matches (a route without matchers catches all)."""
        return all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class RouteTable:
    """Ordered routes; the first match wins, else the default route. The outgoing webhooks ride along, since
    an incident's channels (its route's and the webhooks matching it) are fixed when it opens."""

    routes: Sequence[Route] = field(default_factory=tuple)
    default: Route = field(default_factory=lambda: Route(id="default"))
    webhooks: Sequence[Webhook] = field(default_factory=tuple)
    windows: Sequence[Any] = ()  # the config's maintenance windows (store.domain.maintenance.Window)

    def route_for(self, labels: Mapping[str, str]) -> Route:
        """The first route whose matchers match these labels, else the default route."""
        if not self.routes:
            return self.default
        for route in self.routes:
            if route.matches(labels):
                return route
        return self.default

    def by_id(self, route_id: str) -> Route:
        """The route with this id (the default route when it no longer exists)."""
        for route in self.routes:
            if route.id == route_id:
                return route
        return self.default
