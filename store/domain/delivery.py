"""Delivery rules: which events reach which channel, the channels of an incident, and retry timing."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from store.domain.outgoing import JIRA, PAGERDUTY, Webhook, hears, webhook_spec
from store.domain.routing import Route, RouteTable

EMAIL = "email"
SLACK = "slack"
TELEGRAM = "telegram"
DISCORD = "discord"
MATTERMOST = "mattermost"
NTFY = "ntfy"
PUSHOVER = "pushover"
SMS = "sms"
VOICE = "voice"
# Channels that reach a phone: each message is a new alarm (never an edit), sent only while the incident is triggered.
PHONE_CHANNELS = frozenset({NTFY, PUSHOVER, SMS, VOICE})
# Paged streams that also hear the acknowledgement and resolution: Pushover's emergency messages repeat until
# told to stop (the channel cancels them).
STOP_EVENTS = frozenset({"acknowledged", "resolved"})
STOPPED_BY_ACK = frozenset({PUSHOVER})
# The event kinds that page people: an escalation step, a reassignment's new assignee, and one of a person's
# notification rules.
PAGE_EVENTS = frozenset({"escalated", "reassigned", "paged"})
USER_PREFIX = "user:"  # a Discord or Mattermost target that is a person (a direct message), not a channel
OPEN = "open"
UPDATE = "update"
ANNOUNCE = "announce"  # a message of its own, not about an incident (a handoff)
# Email goes out on open, acknowledge and resolve (CONTRACT section 5); a reopen is a new alarm, so it mails too,
# and so do the changes of who holds an incident, its reminders, and a quiet incident that starts paging.
EMAIL_EVENTS = frozenset({"opened", "reopened", "acknowledged", "resolved", "unacknowledged", "reassigned",
                          "ack_lapsed", "reminder", "maintenance_ended", "flapping_ended"})
# Saving a post-mortem draft is no news for anyone's channel (publishing it is).
SILENT_EVENTS = frozenset({"postmortem_saved"})
# The event kinds that open a new message when the channel has none yet.
OPENING_EVENTS = frozenset({"opened", "reopened"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped; a channel's Retry-After wins over it."""

    base: float = 2.0
    cap: float = 300.0
    give_up: float = 86400.0  # seconds after the delivery was queued


def notifies(channel: str, event_kind: str, spec: object = None, quiet: bool = False) -> bool:
    """True when an event of this kind must reach this channel of an incident (chat: every change; email: the
    big three and their kin; PagerDuty and Jira: status changes; a webhook: the events it names). `spec` is
    the incident's channels entry of the channel. A quiet incident (in maintenance or flapping) mails nothing."""
    if event_kind in SILENT_EVENTS:
        return False
    if channel == EMAIL:
        return event_kind in EMAIL_EVENTS and not quiet
    heard = hears(channel, spec, event_kind)
    return True if heard is None else heard


def absorbs_updates(channel: str) -> bool:
    """True when an unsent open message shows the latest state anyway (chat), so later changes join it (a phone's
    waiting alarm, too: one alarm a person has not yet had is enough)."""
    return channel != EMAIL


def channels_for(
    route: Route, default: Route, labels: Mapping[str, str] | None = None, webhooks: Sequence[Webhook] = ()
) -> dict[str, Any]:
    """The channels an incident of this route must reach: the route's, each falling back to the default route's;
    its PagerDuty service and Jira project; the outgoing webhooks whose matchers its `labels` satisfy."""
    channels: dict[str, Any] = {}
    slack = route.slack_channel or default.slack_channel
    if slack:
        channels[SLACK] = slack
    chats = list(route.telegram_chats or default.telegram_chats)
    if chats:
        channels[TELEGRAM] = chats
    for name, channel in ((DISCORD, route.discord_channel or default.discord_channel),
                          (MATTERMOST, route.mattermost_channel or default.mattermost_channel)):
        if channel:
            channels[name] = channel
    addresses = list(route.email or default.email)
    if addresses:
        channels[EMAIL] = addresses
    if route.pagerduty is not None:
        channels[PAGERDUTY] = route.id  # the key stays in the config: the target names the route
    if route.jira is not None:
        channels[JIRA] = route.id
    for webhook in webhooks:
        if webhook.matches(labels or {}):
            channels[webhook.channel] = webhook_spec(webhook)
    return channels


def manual_channels(routes: RouteTable, severity: str) -> dict[str, Any]:
    """The channels of an incident opened by hand: the default route's, and the webhooks matching its severity."""
    return channels_for(routes.default, routes.default, {"severity": severity}, routes.webhooks)


def targets_of(channels: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(channel, target) pairs of an incident's channels: one per Slack channel, chat or address."""
    pairs: list[tuple[str, str]] = []
    for channel in sorted(channels):
        value = channels[channel]
        if isinstance(value, Mapping):  # an outgoing webhook: {"target", "events"}
            value = [value.get("target", "")]
        for target in [value] if isinstance(value, str) else value:
            if target:
                pairs.append((channel, str(target)))
    return pairs


def retry_delay(
    attempts: int, policy: RetryPolicy, retry_after: float | None = None, rand: Callable[[], float] = random.random
) -> float:
    """Seconds until the next attempt after `attempts` failed ones: full backoff with half of it jittered."""
    if retry_after is not None and retry_after > 0:
        return retry_after * (1 + 0.1 * rand())  # never earlier than asked; spread a little
    exponent = min(max(attempts - 1, 0), 30)
    delay = min(policy.cap, policy.base * 2**exponent)
    return delay / 2 + rand() * delay / 2


def page_targets(kind: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(channel, target) pairs a page (an escalation step, a reassignment, a notification rule) reaches: each
    user's contacts in it (none for a user whose notification rules page them one by one), and the channels it
    names."""
    if kind not in PAGE_EVENTS:
        return []
    pairs: list[tuple[str, str]] = []
    for target in data.get("targets", []):
        if target.get("kind") == "user" and not target.get("rules"):
            contacts = (
                (SLACK, target.get("slack_id")),
                (TELEGRAM, target.get("telegram_id")),
                (DISCORD, _person(target.get("discord_id"))),
                (MATTERMOST, _person(target.get("mattermost_id"))),
                (EMAIL, target.get("email")),
                (NTFY, target.get("ntfy_topic")),
                (PUSHOVER, target.get("pushover_user")),
                (SMS, target.get("phone")),
                (VOICE, target.get("voice")),
            )
            pairs += [(channel, str(value)) for channel, value in contacts if value]
        elif target.get("kind") == "slack_channel" and target.get("id"):
            pairs.append((SLACK, str(target["id"])))
        elif target.get("kind") == "telegram_chat" and target.get("id"):
            pairs.append((TELEGRAM, str(target["id"])))
        elif target.get("kind") in ("discord_channel", "mattermost_channel") and target.get("id"):
            pairs.append((str(target["kind"]).removesuffix("_channel"), str(target["id"])))
    return pairs


def _person(user_id: object) -> str | None:
    """A chat user as a delivery target: a direct message to them."""
    return f"{USER_PREFIX}{user_id}" if user_id else None
