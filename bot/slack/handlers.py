"""Button clicks and the slash command: ack() at once, then call the injected incident actions.

Slack wants an answer within 3 seconds, so every listener calls ack() before anything that may wait on
the database; bolt (process_before_response=False) answers the HTTP request as soon as ack() is called
and the rest of the listener runs after. Failures reach the person as an ephemeral message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import render
from bot.slack.settings import SlackSettings
from store.domain.incident import ActionSource, InvalidTransition
from store.domain.users import User
from store.errors import ApiError
from store.models import Incident
from store.runtime import UNAVAILABLE
from store.sql.incidents import NotFound

log = logging.getLogger(__name__)

SOURCE = ActionSource.SLACK
DEFAULT_SILENCE = 3600.0
DURATION = re.compile(r"^(\d+)(m|h|d)$")
DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400}
MAX_SILENCE = 30 * 86400


class IncidentActions(Protocol):
    """What Slack may do to incidents (the composition root binds it to the store's lifecycle services)."""

    async def acknowledge(self, incident_id: int, actor: str, source: ActionSource) -> Incident: ...

    async def resolve(
        self, incident_id: int, actor: str, source: ActionSource, note: str | None = None
    ) -> Incident: ...

    async def silence(self, incident_id: int, duration_seconds: float, actor: str, source: ActionSource) -> Any: ...

    async def list_open(self) -> Sequence[Incident]: ...

    async def open_manual(self, title: str, actor: str, source: ActionSource) -> Incident: ...

    async def oncall_text(self) -> str: ...

    async def check_step(self, incident_id: int, step: int, done: bool, actor: str, source: ActionSource) -> Any: ...

    async def postmortem_link(self, incident_id: int) -> str: ...

    async def open_from_template(
        self, template_id: str, title: str | None, actor: str, source: ActionSource
    ) -> Incident: ...


class CommandError(ValueError):
    """A slash command that cannot be carried out as typed; the message says how to type it."""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed slash command."""

    name: str
    incident_id: int | None = None
    text: str = ""
    duration: float | None = None
    step: int | None = None  # check and uncheck: the checklist step, from 1
    template: str | None = None  # new --template ID


ALIASES = {"acknowledge": "ack", "ls": "list", "open": "new", "on-call": "oncall", "who": "oncall"}


def _incident_id(word: str, usage: str) -> int:
    digits = word.removeprefix("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:  # "¹".isdigit() is true
        raise CommandError(f"`{word}` is not an incident number. Usage: `{usage}`")
    return int(digits)


def parse_duration(text: str) -> float:
    """'30m', '2h', '1d' to seconds (1 minute to 30 days); CommandError otherwise."""
    match = DURATION.match(text.strip().lower())
    seconds = int(match.group(1)) * DURATION_UNITS[match.group(2)] if match else 0
    if not 60 <= seconds <= MAX_SILENCE:
        raise CommandError(f"`{text}` is not a duration from 1m to 30d, such as 30m, 2h or 1d")
    return float(seconds)


def parse_command(text: str, command: str = "/incident") -> Command:
    """The subcommand and its arguments; an empty or unknown subcommand is `help`."""
    words = text.strip().split(maxsplit=2)
    if not words:
        return Command("help")
    name = ALIASES.get(words[0].lower(), words[0].lower())
    rest = words[1:]
    if name in ("list", "oncall", "help"):
        return Command(name)
    if name == "new":
        return _new(text, command)
    if name in ("check", "uncheck"):
        usage = f"{command} {name} ID STEP"
        parts = text.strip().split()
        if len(parts) != 3:
            raise CommandError(f"Which incident and which step? Usage: `{usage}`")
        step = _incident_id(parts[2], usage)
        return Command(name, _incident_id(parts[1], usage), step=step)
    if name == "postmortem":
        usage = f"{command} postmortem ID"
        if len(words) != 2:
            raise CommandError(f"Which incident? Usage: `{usage}`")
        return Command(name, _incident_id(words[1], usage))
    if name in ("ack", "resolve", "silence"):
        usage = {"ack": "ack ID", "resolve": "resolve ID [note]", "silence": "silence ID [duration]"}[name]
        if not rest:
            raise CommandError(f"Which incident? Usage: `{command} {usage}`")
        incident_id = _incident_id(rest[0], f"{command} {usage}")
        extra = rest[1].strip() if len(rest) > 1 else ""
        if name == "silence":
            return Command(name, incident_id, duration=parse_duration(extra) if extra else DEFAULT_SILENCE)
        if name == "ack" and extra:
            raise CommandError(f"`ack` takes only an incident number. Usage: `{command} ack ID`")
        return Command(name, incident_id, text=extra)
    return Command("help")


def _new(text: str, command: str) -> Command:
    """`new TITLE` or `new --template ID [TITLE]`."""
    rest = text.strip().split(maxsplit=1)[1] if len(text.strip().split(maxsplit=1)) > 1 else ""
    if rest.startswith("--template"):
        parts = rest.split(maxsplit=2)
        if len(parts) < 2 or parts[0] != "--template":
            raise CommandError(f"Which template? Usage: `{command} new --template TEMPLATE [TITLE]`")
        title = parts[2].strip()[:300] if len(parts) > 2 else ""
        return Command("new", text=title, template=parts[1][:64])
    if not rest.strip():
        raise CommandError(f"A new incident needs a title. Usage: `{command} new TITLE`")
    return Command("new", text=rest.strip()[:300])


def explain(exc: BaseException, what: str) -> str:
    """What the person is told when an action failed."""
    if isinstance(exc, InvalidTransition | NotFound | CommandError):
        message = str(exc)
        return f":warning: {message[:1].upper()}{message[1:]}"
    if isinstance(exc, ApiError) and exc.status < 500:  # a conflict or a missing incident: say it as it is
        return f":warning: {exc.message[:1].upper()}{exc.message[1:]}"
    if isinstance(exc, ApiError):
        return f":warning: Could not {what}: {exc.message}"
    if isinstance(exc, UNAVAILABLE):
        return f":warning: Could not {what}: Tocsin's database is unavailable right now. Try again in a minute."
    log.error("Slack action %r failed", what, exc_info=exc)
    return f":warning: Could not {what}: an unexpected error occurred (details are in Tocsin's log)."


class SlackPeople:
    """Who acted: the config user with that slack_id, else the member's Slack name (users.info, cached)."""

    def __init__(self, users: Iterable[User], client: AsyncWebClient | None = None) -> None:
        self.by_slack_id = {u.slack_id: u.id for u in users if u.slack_id}
        self.config_ids = {u.id.lower() for u in users}
        self.client = client
        self.cache: dict[str, str] = {}

    async def _slack_name(self, user_id: str, fallback: str | None) -> str:
        if user_id in self.cache:
            return self.cache[user_id]
        name = ""
        if self.client is not None:
            try:
                info = await self.client.users_info(user=user_id)
                profile = info["user"].get("profile", {})
                name = profile.get("display_name") or profile.get("real_name") or info["user"].get("name", "")
            except Exception as exc:  # noqa: BLE001 - users.info is only for a nicer name
                log.warning("users.info for %s failed (%s); using the name in the request", user_id, exc)
        name = (name or fallback or user_id).strip()[:80]
        if len(self.cache) < 10_000:
            self.cache[user_id] = name
        return name

    async def actor(self, user_id: str, fallback_name: str | None = None) -> str:
        """The actor recorded on the timeline for this Slack user."""
        if user_id in self.by_slack_id:
            return self.by_slack_id[user_id]
        name = await self._slack_name(user_id, fallback_name)
        # A member outside the config must not pass for a config user of the same name.
        return f"{name} ({user_id})" if name.lower() in self.config_ids else name


def _user(body: dict[str, Any]) -> tuple[str, str | None]:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id", "")), user.get("username") or user.get("name")
    return str(body.get("user_id", "")), body.get("user_name")


def _channel(body: dict[str, Any]) -> str:
    channel = body.get("channel")
    return str(channel.get("id", "")) if isinstance(channel, dict) else str(body.get("channel_id", ""))


class Listeners:
    """The bolt listeners, bound to the actions, the people directory and the settings."""

    def __init__(self, actions: IncidentActions, people: SlackPeople, settings: SlackSettings) -> None:
        self.actions = actions
        self.people = people
        self.settings = settings

    async def tell(self, body: dict[str, Any], respond: Any, client: AsyncWebClient, text: str) -> None:
        """An ephemeral message to the person who acted (response_url, else chat.postEphemeral)."""
        try:
            if body.get("response_url"):
                await respond(text=text, response_type="ephemeral", replace_original=False)
            else:
                await client.chat_postEphemeral(channel=_channel(body), user=_user(body)[0], text=text)
        except Exception as exc:  # noqa: BLE001 - nothing more can be done for this person
            log.warning("could not send an ephemeral Slack message: %s", exc)

    async def attempt(self, call: Callable[[], Awaitable[Any]], what: str) -> tuple[Any, str | None]:
        """Run one action; (result, None) or (None, what to tell the person)."""
        try:
            return await call(), None
        except Exception as exc:  # noqa: BLE001 - every failure is explained to the person
            return None, explain(exc, what)

    async def on_button(self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        """ack_incident, resolve_incident and silence_incident clicks."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value", ""))
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            await self.tell(body, respond, client, ":warning: This button names no incident; nothing was done.")
            return
        incident_id = int(value)
        user_id, name = _user(body)
        actor = await self.people.actor(user_id, name)
        action_id = action.get("action_id")
        if action_id == render.ACK_ACTION:
            _, error = await self.attempt(lambda: self.actions.acknowledge(incident_id, actor, SOURCE), "acknowledge")
        elif action_id == render.RESOLVE_ACTION:
            _, error = await self.attempt(lambda: self.actions.resolve(incident_id, actor, SOURCE), "resolve")
        else:
            silence = self.actions.silence
            _, error = await self.attempt(lambda: silence(incident_id, DEFAULT_SILENCE, actor, SOURCE), "silence")
        if error:
            await self.tell(body, respond, client, error)

    async def on_command(self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        """The slash command: list, ack, resolve, silence, oncall, new, help."""
        await ack()
        reply = await self.run_command(body)
        await self.tell(body, respond, client, reply)

    async def run_command(self, body: dict[str, Any]) -> str:
        """Carry out one slash command; the text to show the person."""
        command, public = self.settings.command, self.settings.public_url
        try:
            parsed = parse_command(str(body.get("text", "")), command)
        except CommandError as exc:
            return explain(exc, "parse the command")
        if parsed.name == "silence" and not self.settings.silence_enabled:
            return ":warning: Silences need ALERTMANAGER_URL to be set on Tocsin."
        if parsed.name == "help":
            return render.help_text(command, self.settings.silence_enabled)
        if parsed.name == "list":
            found, error = await self.attempt(self.actions.list_open, "list open incidents")
            return error or render.incident_list_text(found, public)
        if parsed.name == "oncall":
            text, error = await self.attempt(self.actions.oncall_text, "find who is on call")
            return error or text
        if parsed.name == "postmortem":
            number = parsed.incident_id or 0
            link, error = await self.attempt(lambda: self.actions.postmortem_link(number), "find the post-mortem")
            return error or f":books: Post-mortem of #{number}: {render.link(link, link)}"
        user_id, name = _user(body)
        actor = await self.people.actor(user_id, name)
        number = parsed.incident_id or 0
        if parsed.name == "new" and parsed.template:
            template, title = parsed.template, parsed.text or None
            done, error = await self.attempt(
                lambda: self.actions.open_from_template(template, title, actor, SOURCE), "open")
            verb = "Opened"
        elif parsed.name == "new":
            done, error = await self.attempt(lambda: self.actions.open_manual(parsed.text, actor, SOURCE), "open")
            verb = "Opened"
        elif parsed.name in ("check", "uncheck"):
            step, ticked = parsed.step or 0, parsed.name == "check"
            item, error = await self.attempt(
                lambda: self.actions.check_step(number, step, ticked, actor, SOURCE), f"{parsed.name} the step")
            if error:
                return error
            mark, verb = (":white_check_mark:", "done") if ticked else (":white_circle:", "reopened")
            return f"{mark} #{number} step {step} {verb}: {render.escape(item.text)}"
        elif parsed.name == "ack":
            done, error = await self.attempt(lambda: self.actions.acknowledge(number, actor, SOURCE), "acknowledge")
            verb = "Acknowledged"
        elif parsed.name == "resolve":
            note = parsed.text or None
            done, error = await self.attempt(lambda: self.actions.resolve(number, actor, SOURCE, note), "resolve")
            verb = "Resolved"
        else:
            seconds = parsed.duration or DEFAULT_SILENCE
            done, error = await self.attempt(lambda: self.actions.silence(number, seconds, actor, SOURCE), "silence")
            return error or f":no_bell: Silenced #{number} for {int(seconds // 60)} minutes."
        if error:
            return error
        title = render.link(render.incident_url(public, done.id), f"#{done.id} {done.title}")
        return f"{render.STATUS_EMOJI[done.status]} {verb} {title}"


def register(app: AsyncApp, listeners: Listeners) -> None:
    """Attach the listeners to the bolt app (plain functions: bolt injects arguments by parameter name)."""

    async def button(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await listeners.on_button(ack, body, respond, client)

    async def command(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await listeners.on_command(ack, body, respond, client)

    async def uninstalled(ack: Any, body: dict[str, Any]) -> None:
        kind = (body.get("event") or {}).get("type", "app_uninstalled")
        log.error("Slack says %s: Tocsin's bot token no longer works; reinstall the app (docs/slack.md)", kind)
        await ack()

    for action_id in (render.ACK_ACTION, render.RESOLVE_ACTION, render.SILENCE_ACTION):
        app.action(action_id)(button)
    app.command(listeners.settings.command)(command)
    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(uninstalled)
