"""The chat core's entries for the second batch: unacknowledge, reassign, escalate, snooze; maintenance windows;
heartbeats. Mixed into ChatActions (bot/actions.py), so every chat gets them with the same words."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import actions as core  # this module is a part of the chat core; its names are read at call time
from store import ack_actions, heartbeats, maintenance
from store.domain.config_fields import format_span, parse_duration
from store.domain.config_schema import Config
from store.domain.incident import ActionSource
from store.domain.maintenance import MAX_DURATION, MIN_DURATION
from store.domain.tokens import Role
from store.domain.users import User
from store.models import Incident

if TYPE_CHECKING:
    from bot.actions import Reply
    from store.runtime import Runtime

DEFAULT_SNOOZE = "1h"
SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
DISCORD_MENTION = re.compile(r"<@!?(\d{5,25})>")


def find_user(config: Config, text: str) -> User | None:
    """A config user named in chat: their id, a Slack or Discord mention, or @id / @mattermost-username."""
    word = text.strip()
    slack, discord = SLACK_MENTION.fullmatch(word), DISCORD_MENTION.fullmatch(word)
    for user in config.users:
        if slack and user.slack_id == slack.group(1):
            return user
        if discord and user.discord_id == discord.group(1):
            return user
        if word.removeprefix("@").lower() == user.id.lower():
            return user
        if user.mattermost_id and word.lower() in (user.mattermost_id.lower(), "@" + user.mattermost_id.lower()):
            return user
    return None


def chat_span(text: str | None, default: str, low: timedelta, high: timedelta) -> timedelta:
    """A duration typed in chat (30m, 2h, 1d, 1h30m), within bounds; ValueError in words otherwise."""
    written = (text or default).strip()
    try:
        span = parse_duration(written)
    except ValueError:
        span = timedelta(-1)
    if not low <= span <= high:
        raise ValueError(f"'{written[:40]}' is not a duration from {format_span(low)} to {format_span(high)}, "
                         "such as 30m, 2h or 1d")
    return span


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class ResponseActions:
    """Entries of the chat core (mixed into ChatActions, which provides runtime(), _attempt() and storable())."""

    runtime: Callable[[], Runtime]
    _attempt: Callable[[str, Callable[[], Awaitable[Reply]]], Awaitable[Reply]]
    may_act: Callable[..., User | None]  # the role check of ChatActions: Refused when the actor may not

    @staticmethod
    def _actor(actor: str) -> str:
        return core.storable(actor, core.MAX_ACTOR)

    async def unacknowledge(self, incident_id: object, actor: str, source: ActionSource) -> Reply:
        """Back to triggered; escalation starts again."""

        async def call() -> Reply:
            self.may_act(actor)
            number = core.parse_incident_id(incident_id)
            result = await ack_actions.unacknowledge(self.runtime().db, number, self._actor(actor), source)
            return core.done("Unacknowledged", result.incident)

        return await self._attempt("unacknowledge", call)

    async def reassign(self, incident_id: object, to: str, actor: str, source: ActionSource) -> Reply:
        """Acknowledged by another config user (named by id or mention), who is told."""

        async def call() -> Reply:
            self.may_act(actor)
            number = core.parse_incident_id(incident_id)
            runtime = self.runtime()
            user = find_user(runtime.config, to)
            if user is None:
                raise core.Refused(f"'{to.strip()[:40]}' is not a user of Tocsin's config "
                                   "(give their id or mention them)")
            result = await ack_actions.reassign(runtime.db, runtime.config, number, user.id, self._actor(actor),
                                                source)
            return core.done("Reassigned", result.incident, f" to {user.name}")

        return await self._attempt("reassign", call)

    async def escalate(self, incident_id: object, actor: str, source: ActionSource) -> Reply:
        """The next escalation step, at once."""

        async def call() -> Reply:
            self.may_act(actor)
            runtime = self.runtime()
            result = await ack_actions.escalate(runtime.db, runtime.config, core.parse_incident_id(incident_id),
                                                self._actor(actor), source)
            step = result.events[0].message.removeprefix("Escalated ")
            return core.done("Escalated", result.incident, f" {step}")

        return await self._attempt("escalate", call)

    async def snooze(self, incident_id: object, actor: str, source: ActionSource, duration: str | None = None) -> Reply:
        """Acknowledged for a while (default 1h), then triggered again."""

        async def call() -> Reply:
            self.may_act(actor)
            number = core.parse_incident_id(incident_id)
            try:
                span = chat_span(duration, DEFAULT_SNOOZE, timedelta(minutes=1), timedelta(days=30))
            except ValueError as exc:
                raise core.Refused(str(exc)) from None
            runtime = self.runtime()
            result = await ack_actions.snooze(runtime.db, number, span.total_seconds(), self._actor(actor), source,
                                              now=runtime.clock())
            until = _utc(runtime.clock() + span)
            return core.done("Snoozed", result.incident, f" for {format_span(span)}, until {until}")

        return await self._attempt("snooze", call)

    async def start_maintenance(self, duration: str, matchers: Sequence[str], actor: str) -> Reply:
        """A maintenance window from now, for the alerts the matchers cover."""

        async def call() -> Reply:
            self.may_act(actor, Role.ADMIN)
            try:
                span = chat_span(duration, "", MIN_DURATION, MAX_DURATION)
            except ValueError as exc:
                raise core.Refused(str(exc)) from None
            runtime = self.runtime()
            now = runtime.clock()
            window = await maintenance.create(runtime.db, list(matchers), now, now + span, self._actor(actor),
                                              silencer=runtime.silencer, now=now)
            return core.Reply(f"Maintenance {maintenance.describe(window)} for {format_span(span)}, until "
                         f"{_utc(now + span)}: alerts it covers open incidents that do not page")

        return await self._attempt("start the maintenance window", call)

    async def list_maintenance(self) -> Reply:
        """The maintenance windows in force and to come."""

        async def call() -> Reply:
            runtime = self.runtime()
            found = await maintenance.views(runtime.db, runtime.config, runtime.clock())
            lines = [f"{maintenance.describe(v.window)}: " + (
                f"{'on' if v.active else 'next'} {_utc(v.period[0])} to {_utc(v.period[1])}" if v.period else "over")
                for v in found]
            return core.Reply("\n".join(["Maintenance windows:", *lines]) if lines else "No maintenance windows.")

        return await self._attempt("list maintenance windows", call)

    async def end_maintenance(self, window_id: str, actor: str) -> Reply:
        """End a window made through the API or chat now."""

        async def call() -> Reply:
            self.may_act(actor, Role.ADMIN)
            runtime = self.runtime()
            window = await maintenance.end(runtime.db, runtime.config, window_id.strip()[:64], self._actor(actor),
                                           runtime.clock())
            return core.Reply(f"Ended maintenance {maintenance.describe(window)}")

        return await self._attempt("end the maintenance window", call)

    async def list_heartbeats(self) -> Reply:
        """Each heartbeat's status and last ping."""

        async def call() -> Reply:
            runtime = self.runtime()
            found = await heartbeats.views(runtime.db, runtime.config, runtime.clock())
            lines = []
            for view in found:
                seen = view.state.last_seen_at if view.state else None
                last = f"last ping {_utc(seen)}" if seen else "never pinged"
                lines.append(f"{view.heartbeat.id}: {view.status}, {last} (timeout "
                             f"{format_span(view.heartbeat.timeout)})")
            return core.Reply("\n".join(["Heartbeats:", *lines]) if lines else "No heartbeats in the config.")

        return await self._attempt("list heartbeats", call)

    async def mute_heartbeat(self, heartbeat_id: str, duration: str | None, actor: str) -> Reply:
        """Mute a heartbeat for a while (None: unmute)."""

        async def call() -> Reply:
            self.may_act(actor, Role.ADMIN)
            runtime = self.runtime()
            now = runtime.clock()
            until = None
            if duration is not None:
                try:
                    until = now + chat_span(duration, "", timedelta(minutes=1), timedelta(days=30))
                except ValueError as exc:
                    raise core.Refused(str(exc)) from None
            view = await heartbeats.mute(runtime.db, runtime.config, heartbeat_id.strip()[:64], until,
                                         self._actor(actor), now)
            if until is None:
                return core.Reply(f"Unmuted heartbeat {view.heartbeat.id}: it is {view.status}")
            return core.Reply(f"Muted heartbeat {view.heartbeat.id} until {_utc(until)}: a missing ping opens no "
                              "incident")

        return await self._attempt("mute the heartbeat" if duration else "unmute the heartbeat", call)


def status_note(incident: Incident) -> str:
    """Why an incident is quiet, in words ('' when it is not)."""
    if incident.maintenance_id:
        return f"In maintenance window {incident.maintenance_id}: no pages"
    return "Flapping: quiet until stable" if incident.flapping else ""
