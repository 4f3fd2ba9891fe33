"""The chat core: one entry per action that every chat calls, and the same words for every outcome.

Each entry parses what a person typed or clicked (incident numbers, durations) once, calls the store
service with the chat's ActionSource, and answers a Reply in plain words; the transports only add their
markup. Store errors are mapped to words here, once (explain).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from bot import present
from bot.response_actions import ResponseActions
from store import incidents, lifecycle, overrides, postmortems, silence, templates
from store.domain.config_schema import Config
from store.domain.delivery import manual_channels
from store.domain.incident import ActionSource, Status, incident_number
from store.domain.links import incident_url
from store.domain.oncall_view import local_time, oncall_text
from store.domain.schedule import Schedule
from store.domain.silence import BadDuration, format_duration, parse_duration
from store.domain.tokens import Role, role_allows
from store.domain.users import User
from store.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from store.models import Incident
from store.runtime import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_SILENCE = 3600
MAX_TITLE = 300
MAX_TEXT = 10_000
MAX_ACTOR = 200
LIST_LIMIT = 50  # per status; chat lists are short


class Refused(Exception):
    """What a person typed cannot be carried out as typed; the message says why, in words."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The outcome of one action in words; `incident` is what it is about (renderers may link it)."""

    text: str
    ok: bool = True
    incident: Incident | None = None
    incidents: tuple[Incident, ...] = ()
    listed: bool = False  # the answer to "list": `incidents` are the open ones (perhaps none)
    verb: str = ""  # "Acknowledged", "Resolved", … : text is f"{verb} #{id} {title}" plus any detail

    def markup(self, public_url: str, style: ReplyStyle) -> str:
        """The reply in a chat's markup: a warning sign when it failed, the list, or the incident linked."""
        if not self.ok:
            return f"{style.warning} {style.escape(self.text)}"
        if self.listed:
            return style.listing(self.incidents, public_url)
        if self.incident is None:
            return style.escape(self.text)
        named = f"#{self.incident.id} {self.incident.title}"
        rest = self.text.removeprefix(f"{self.verb} ").removeprefix(named)
        linked = style.link(incident_url(public_url, self.incident.id), named)
        return f"{style.emoji[self.incident.status]} {style.escape(self.verb)} {linked}{style.escape(rest)}"


@dataclass(frozen=True, slots=True)
class ReplyStyle:
    """How a chat writes a reply: its escaping, links, status emoji, warning sign and incident list."""

    escape: Callable[[str], str]
    link: Callable[[str, str], str]  # (url, text) -> markup
    emoji: Mapping[Status, str]
    warning: str
    listing: Callable[[Sequence[Incident], str], str]  # (incidents, public_url) -> markup


def parse_incident_id(word: object) -> int:
    """'42' or '#42' to 42; Refused for anything else."""
    number = incident_number(word)
    if number is None:
        raise Refused(f"'{str(word)[:40]}' is not an incident number (such as 42 or #42)")
    return number


def parse_step(word: object) -> int:
    """A checklist step's number ('2'); Refused for anything else."""
    number = incident_number(word)
    if number is None:
        raise Refused(f"'{str(word)[:40]}' is not a checklist step number (such as 2)")
    return number


def postmortem_url(public_url: str, incident_id: int) -> str:
    """The dashboard page of an incident's post-mortem."""
    return f"{incident_url(public_url, incident_id)}/postmortem"


def parse_silence(text: str | None) -> int:
    """A silence length such as 30m, 2h or 1d (default 1h) in seconds; Refused otherwise."""
    if text is None or not text.strip():
        return DEFAULT_SILENCE
    try:
        return parse_duration(text)
    except BadDuration as exc:
        raise Refused(str(exc)) from None


def storable(text: str, limit: int) -> str:
    """Chat text as PostgreSQL stores it (U+0000, which text columns refuse, shown as U+FFFD), at most `limit`."""
    return text.replace("\x00", "\ufffd").strip()[:limit]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def explain(exc: BaseException, what: str) -> str:
    """What a person is told when an action failed (the one mapping of store errors to words)."""
    if isinstance(exc, Refused | NotFound | Conflict | Invalid | Forbidden):
        return _capital(str(exc).rstrip(".")) + "."
    if isinstance(exc, Unavailable) and exc.code == "database_unavailable":
        return f"Could not {what}: Tocsin's database is unavailable right now. Try again in a minute."
    if isinstance(exc, Unavailable):
        return f"Could not {what}: {exc.message}"
    log.error("chat action %r failed", what, exc_info=exc)
    return f"Could not {what}: an unexpected error occurred (details are in Tocsin's log)."


def check_role(config: Config, actor: str, needed: Role = Role.RESPONDER) -> User | None:
    """The config user acting (None for a chat member outside the config); Refused when they may not act.

    Config users act with their role; anyone else only when the config says `chat_strangers: act` (as a
    responder), so by default an unknown person's click is refused and nothing changes.
    """
    user = config.user(actor)
    if user is None:
        if config.chat_strangers == "act" and needed is Role.RESPONDER:
            return None
        raise Refused(f"not allowed: {actor} is not a user of Tocsin's config, and the config lets only its users "
                      "act (chat_strangers: read); nothing was changed")
    if not role_allows(Role(user.role), needed):
        raise Refused(f"not allowed: {user.name} has role {user.role} in Tocsin's config, and this needs "
                      f"{needed}; nothing was changed")
    return user


def done(verb: str, incident: Incident, detail: str = "") -> Reply:
    """A successful action on an incident, in words: 'Acknowledged #42 Disk full'."""
    return Reply(f"{verb} #{incident.id} {incident.title}{detail}", True, incident, verb=verb)


class ChatActions(ResponseActions):
    """Every chat's way to the store. `runtime()` gives the serving app's runtime (None while starting)."""

    def __init__(self, runtime: Callable[[], Runtime | None], silencer: silence.Silencer | None = None) -> None:
        self._runtime = runtime
        self.silencer = silencer

    @property
    def silence_enabled(self) -> bool:
        """Silences need Alertmanager (ALERTMANAGER_URL)."""
        return self.silencer is not None

    def runtime(self) -> Runtime:
        """The serving app's runtime; Unavailable while Tocsin starts or stops."""
        runtime = self._runtime()
        if runtime is None:
            raise Unavailable("Tocsin is starting or stopping; try again in a moment", code="starting")
        return runtime

    def may_act(self, actor: str, needed: Role = Role.RESPONDER) -> User | None:
        """The config user acting, or None for an allowed stranger; Refused when they may not (check_role)."""
        return check_role(self.runtime().config, actor, needed)

    async def _attempt(self, what: str, call: Callable[[], Awaitable[Reply]]) -> Reply:
        try:
            return await call()
        except Exception as exc:  # noqa: BLE001 - every failure is told to the person in words
            return Reply(explain(exc, what), ok=False)

    async def acknowledge(self, incident_id: object, actor: str, source: ActionSource) -> Reply:
        """Acknowledge a triggered incident."""

        async def call() -> Reply:
            number = parse_incident_id(incident_id)
            self.may_act(actor)
            result = await lifecycle.acknowledge(self.runtime().db, number, storable(actor, MAX_ACTOR), source)
            return done("Acknowledged", result.incident)

        return await self._attempt("acknowledge", call)

    async def resolve(self, incident_id: object, actor: str, source: ActionSource, note: str | None = None) -> Reply:
        """Resolve an open incident, with an optional note."""

        async def call() -> Reply:
            number = parse_incident_id(incident_id)
            self.may_act(actor)
            text = storable(note, MAX_TEXT) if note else ""
            db = self.runtime().db
            result = await lifecycle.resolve(db, number, storable(actor, MAX_ACTOR), source, text or None)
            return done("Resolved", result.incident)

        return await self._attempt("resolve", call)

    async def note(self, incident_id: object, actor: str, source: ActionSource, text: str) -> Reply:
        """Add a note to the incident's timeline."""

        async def call() -> Reply:
            number = parse_incident_id(incident_id)
            self.may_act(actor)
            db = self.runtime().db
            result = await lifecycle.add_note(db, number, storable(actor, MAX_ACTOR), source, storable(text, MAX_TEXT))
            return done("Noted on", result.incident)

        return await self._attempt("add the note", call)

    async def silence(
        self, incident_id: object, actor: str, source: ActionSource, duration: str | None = None
    ) -> Reply:
        """Silence the incident's firing alerts in Alertmanager (default 1h)."""

        async def call() -> Reply:
            number = parse_incident_id(incident_id)
            seconds = parse_silence(duration)
            self.may_act(actor)
            db = self.runtime().db
            result = await silence.silence(db, self.silencer, number, seconds, storable(actor, MAX_ACTOR), source)
            return done("Silenced", result.incident, f" for {format_duration(seconds)}")

        return await self._attempt("silence", call)

    async def open(self, title: str, actor: str, source: ActionSource) -> Reply:
        """Open an incident by hand on the default route's channels."""

        async def call() -> Reply:
            if not title.strip():
                raise Refused("a new incident needs a title")
            self.may_act(actor)
            runtime = self.runtime()
            routes = runtime.routes
            result = await lifecycle.open_manual(
                runtime.db, storable(title, MAX_TITLE), "warning", "", storable(actor, MAX_ACTOR), source,
                channels=manual_channels(routes, "warning"),
            )
            return done("Opened", result.incident)

        return await self._attempt("open an incident", call)

    async def open_from_template(self, template_id: str, title: str | None, actor: str, source: ActionSource) -> Reply:
        """Open an incident from a response template: its route's channels, escalation and SLA, its checklist."""

        async def call() -> Reply:
            self.may_act(actor)
            runtime = self.runtime()
            named = storable(title, MAX_TITLE) if title and title.strip() else None
            result = await lifecycle.open_incident(runtime.db, runtime.config, storable(template_id, 64), named,
                                                   None, None, storable(actor, MAX_ACTOR), source)
            return done("Opened", result.incident)

        return await self._attempt("open an incident", call)

    async def check(self, incident_id: object, step: object, ticked: bool, actor: str, source: ActionSource) -> Reply:
        """Tick (or untick) step `step` of the incident's checklist; who and when go on the timeline."""

        async def call() -> Reply:
            number, index = parse_incident_id(incident_id), parse_step(step)
            self.may_act(actor)
            db = self.runtime().db
            item, _ = await templates.check(db, number, index, ticked, storable(actor, MAX_ACTOR), source)
            return Reply(f"#{number} step {index} {'done' if ticked else 'reopened'}: {item.text}")

        return await self._attempt("check the step" if ticked else "uncheck the step", call)

    async def postmortem(self, incident_id: object, public_url: str) -> Reply:
        """The link to a resolved incident's post-mortem (refused while it is open)."""

        async def call() -> Reply:
            number = parse_incident_id(incident_id)
            await postmortems.check_reviewable(self.runtime().db, number)
            return Reply(f"Post-mortem of #{number}: {postmortem_url(public_url, number)}")

        return await self._attempt("find the post-mortem", call)

    async def press(self, action: str, incident_id: object, actor: str, source: ActionSource) -> Reply:
        """A button under an incident's message (present.ACK, RESOLVE or SILENCE) for the incident it names."""
        if action == present.ACK:
            return await self.acknowledge(incident_id, actor, source)
        if action == present.RESOLVE:
            return await self.resolve(incident_id, actor, source)
        if action == present.SILENCE:
            return await self.silence(incident_id, actor, source)
        return Reply("This button is not understood (an old message?); nothing was done.", ok=False)

    async def list_open(self) -> Reply:
        """The open incidents, triggered first."""

        async def call() -> Reply:
            found = tuple(await incidents.open_incidents(self.runtime().db, LIST_LIMIT))
            if not found:
                return Reply("No open incidents.", listed=True)
            return Reply(f"{len(found)} open incident{'s' if len(found) != 1 else ''}", incidents=found, listed=True)

        return await self._attempt("list open incidents", call)

    async def oncall(self) -> Reply:
        """Who is on call now, in every schedule of the config."""

        async def call() -> Reply:
            runtime = self.runtime()
            return Reply(oncall_text(runtime.config, runtime.clock()))

        return await self._attempt("find who is on call", call)

    async def override(
        self, who: str, duration: str, schedule_id: str | None, actor: str, source: ActionSource
    ) -> Reply:
        """Put someone on call in a schedule from now for `duration` (your own; anyone's as an admin)."""

        async def call() -> Reply:
            runtime = self.runtime()
            config = runtime.config
            acting_user = self.may_act(actor)
            target = find_user(config, who, acting_user)
            schedule = pick_schedule(config, schedule_id)
            seconds = parse_silence(duration)
            role = Role(acting_user.role) if acting_user else Role.RESPONDER
            acting = overrides.Acting(storable(actor, MAX_ACTOR), acting_user.id if acting_user else None, role,
                                      source.value)
            start = runtime.clock()
            end = start + timedelta(seconds=seconds)
            made = await overrides.add_override(runtime.db, config, schedule.id, target.id, start, end, acting)
            until = local_time(made.ends_at, schedule)
            return Reply(f"Override {made.id}: {target.name} is on call in {schedule.id} until {until}")

        return await self._attempt("add the override", call)


_MENTION = re.compile(r"<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>")


def find_user(config: Config, word: str, acting: User | None) -> User:
    """A config user named as typed: `me`, `@alice`, `alice`, a Slack or Discord mention, a Mattermost name."""
    word = word.strip()
    if word.lower() == "me" and acting is not None:
        return acting
    mention = _MENTION.fullmatch(word)
    for user in config.users:
        if mention and mention[1] in (user.slack_id, user.discord_id):
            return user
        if not mention and word.removeprefix("@") in (user.id, (user.mattermost_id or "").removeprefix("@")):
            return user
    raise Refused(f"'{word[:40]}' is not a user of Tocsin's config (use their config id, such as @alice)")


def pick_schedule(config: Config, schedule_id: str | None) -> Schedule:
    """The schedule named, or the only one there is; Refused otherwise."""
    known = ", ".join(s.id for s in config.schedules)
    if schedule_id:
        schedule = config.schedule(schedule_id)
        if schedule is None:
            raise Refused(f"there is no schedule '{schedule_id[:40]}'; expected one of: {known or 'none'}")
        return schedule
    if len(config.schedules) == 1:
        return config.schedules[0]
    if not config.schedules:
        raise Refused("no on-call schedules are configured")
    raise Refused(f"which schedule? There are several: {known}; name one after the duration")
