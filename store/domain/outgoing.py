"""Integrations of the config file (pure): PagerDuty-style event senders, outgoing webhooks, and where a route
forwards its incidents (PagerDuty, Jira)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from store.domain.routing import LabelMatcher

PAGERDUTY_EVENTS = "pagerduty_events"  # the one integration kind so far
INTEGRATION_KINDS = (PAGERDUTY_EVENTS,)
# What an outgoing webhook may be told of: timeline entry kinds, named as CONTRACT section 8 names them.
WEBHOOK_EVENTS = ("opened", "acknowledged", "resolved", "reopened", "escalated", "note")
# What PagerDuty and Jira hear of an incident: the changes of its status.
STATUS_EVENTS = frozenset({"opened", "reopened", "acknowledged", "resolved"})
WEBHOOK_PREFIX = "webhook:"  # each outgoing webhook is a delivery channel of its own ("webhook:ID")
PAGERDUTY = "pagerduty"
JIRA = "jira"


@dataclass(frozen=True, slots=True)
class Integration:
    """A sender of PagerDuty-style events: its routing key, and the labels its alerts carry (routed as any)."""

    id: str
    kind: str
    routing_key: str = field(repr=False)
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Webhook:
    """An outgoing webhook: where, which events, the signing secret, which incidents, and the body's template."""

    id: str
    url: str = field(repr=False)  # may carry a token in its path
    events: tuple[str, ...] = WEBHOOK_EVENTS
    secret: str | None = field(default=None, repr=False)
    matchers: tuple[LabelMatcher, ...] = ()
    template: str | None = None

    @property
    def channel(self) -> str:
        """The delivery channel of this webhook."""
        return f"{WEBHOOK_PREFIX}{self.id}"

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when the incident's labels (when it opens) satisfy every matcher."""
        return all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class PagerDutyTarget:
    """A route's PagerDuty service (Events API v2)."""

    routing_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class JiraTarget:
    """A route's Jira project: the issue's type, its fields as templates, and the transitions to run."""

    project: str
    issue_type: str
    summary: str | None = None  # templates; None: the defaults of bot/jira
    description: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)  # other fields: id -> template of its JSON value
    resolve_transition: str = "Done"
    reopen_transition: str | None = None


def webhook_spec(webhook: Webhook) -> dict[str, object]:
    """How an incident's channels record an outgoing webhook: its target and the events it hears."""
    return {"target": webhook.id, "events": list(webhook.events)}


def hears(channel: str, spec: object, event_kind: str) -> bool | None:
    """Whether an integration channel hears of an event kind (None: not an integration channel)."""
    if channel.startswith(WEBHOOK_PREFIX):
        return isinstance(spec, Mapping) and event_kind in spec.get("events", ())
    if channel in (PAGERDUTY, JIRA):
        return event_kind in STATUS_EVENTS
    return None


def integration_for(integrations: Sequence[Integration], routing_key: str) -> Integration | None:
    """The integration of a routing key, compared in constant time with every key (so timing tells nothing)."""
    found = None
    given = routing_key.encode()
    for integration in integrations:
        if hmac.compare_digest(given, integration.routing_key.encode()):
            found = integration
    return found
