"""The `/incident SUBCOMMAND …` grammar that the text-command chats share (Slack, Mattermost, Discord's
options), and running a parsed command through the chat core."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.actions import ChatActions, Refused, Reply, parse_incident_id, parse_silence
from store.domain.incident import ActionSource


class CommandError(ValueError):
    """A command that cannot be carried out as typed; the message says how to type it."""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command."""

    name: str
    incident_id: int | None = None
    text: str = ""
    duration: str | None = None  # as typed (checked here, parsed by the chat core); None: the default 1h
    step: int | None = None  # check and uncheck: the checklist step, from 1
    template: str | None = None  # new --template ID
    user: str = ""  # override: the person, as typed (@alice, a mention, me)
    schedule: str | None = None  # override: the schedule named, if any
    matchers: tuple[str, ...] = ()  # a maintenance window's, as typed


ALIASES = {"acknowledge": "ack", "ls": "list", "open": "new", "on-call": "oncall", "who": "oncall",
           "swap": "override", "cover": "override", "unacknowledge": "unack", "heartbeat": "heartbeats"}
USAGE = {"ack": "ack ID", "resolve": "resolve ID [note]", "silence": "silence ID [duration]", "note": "note ID TEXT",
         "check": "check ID STEP", "uncheck": "uncheck ID STEP", "postmortem": "postmortem ID",
         "unack": "unack ID", "reassign": "reassign ID USER", "escalate": "escalate ID",
         "snooze": "snooze ID [duration]"}
OVERRIDE_USAGE = "override @USER DURATION [SCHEDULE]"
ALONE = ("ack", "unack", "escalate")  # take only an incident number
MAX_TITLE = 300
MAX_MATCHERS = 2000
# Matchers typed in chat, separated by spaces or commas; a quoted value may hold either.
MATCHER_WORD = re.compile(r'(?:[^\s,"]|"(?:[^"\\]|\\.)*"?)+')


def typed(command: str, words: str) -> str:
    """How a subcommand is typed: `/incident snooze ID` (a chat's one command) or `/snooze ID` (command "")."""
    return f"{command} {words}" if command else f"/{words}"


def _incident_id(word: str, usage: str) -> int:
    try:
        return parse_incident_id(word)
    except Refused:
        raise CommandError(f"`{word[:40]}` is not an incident number. Usage: `{usage}`") from None


def parse_command(text: str, command: str = "/incident") -> Command:
    """The subcommand and its arguments; an empty or unknown subcommand is `help`."""
    words = text.strip().split(maxsplit=2)
    if not words:
        return Command("help")
    name = ALIASES.get(words[0].lower(), words[0].lower())
    rest = words[1:]
    if name in ("list", "oncall", "help"):
        return Command(name)
    if name == "override":
        return parse_override(text.strip().split()[1:], f"{command} {OVERRIDE_USAGE}")
    if name == "maintenance":
        return _maintenance(text.strip().split(maxsplit=1)[1] if rest else "", command)
    if name == "heartbeats":
        return _heartbeats(rest, command)
    if name == "new":
        return _new(text.strip().split(maxsplit=1)[1] if len(words) > 1 else "", command)
    if name not in USAGE:
        return Command("help")
    usage = typed(command, USAGE[name])
    if not rest:
        raise CommandError(f"Which incident? Usage: `{usage}`")
    incident_id = _incident_id(rest[0], usage)
    extra = rest[1].strip() if len(rest) > 1 else ""
    if name in ("silence", "snooze"):
        return Command(name, incident_id, duration=_duration(extra))
    if name in ALONE and extra:
        raise CommandError(f"`{name}` takes only an incident number. Usage: `{usage}`")
    if name == "note" and not extra:
        raise CommandError(f"A note needs its text. Usage: `{usage}`")
    if name in ("check", "uncheck"):
        if len(extra.split()) != 1:
            raise CommandError(f"Which step? Usage: `{usage}`")
        return Command(name, incident_id, step=_incident_id(extra, usage))
    if name == "postmortem" and extra:
        raise CommandError(f"`postmortem` takes only an incident number. Usage: `{usage}`")
    if name == "reassign" and (not extra or len(extra.split()) > 1):
        raise CommandError(f"Reassign to whom? Name one user of Tocsin's config. Usage: `{usage}`")
    return Command(name, incident_id, text=extra)


def _new(rest: str, command: str) -> Command:
    """`new TITLE` or `new --template ID [TITLE]`."""
    if rest.startswith("--template"):
        parts = rest.split(maxsplit=2)
        if len(parts) < 2 or parts[0] != "--template":
            raise CommandError(f"Which template? Usage: `{command} new --template TEMPLATE [TITLE]`")
        title = parts[2].strip()[:MAX_TITLE] if len(parts) > 2 else ""
        return Command("new", text=title, template=parts[1][:64])
    if not rest.strip():
        raise CommandError(f"A new incident needs a title. Usage: `{command} new TITLE`")
    return Command("new", text=rest.strip()[:MAX_TITLE])


def parse_override(words: list[str], usage: str) -> Command:
    """`@alice 2h [primary]`: who is on call instead, for how long from now, in which schedule."""
    if len(words) not in (2, 3):
        raise CommandError(f"Who, and for how long? Usage: `{usage}`, such as `@alice 2h`")
    try:
        parse_silence(words[1])
    except Refused:
        raise CommandError(f"`{words[1][:40]}` is not a duration from 1m to 30d, such as 30m, 2h or 1d. "
                           f"Usage: `{usage}`") from None
    return Command("override", user=words[0], duration=words[1], schedule=words[2] if len(words) == 3 else None)




def _duration(word: str) -> str | None:
    """A duration from 1m to 30d as typed (None when absent: the default); CommandError otherwise."""
    try:
        parse_silence(word or None)
    except Refused as exc:
        raise CommandError(f"`{word[:40]}` is not a duration from 1m to 30d, such as 30m, 2h or 1d") from exc
    return word or None


def matcher_words(text: str) -> tuple[str, ...]:
    """Matchers typed in chat (`service="db" env="prod"` or comma-separated), one text each."""
    return tuple(MATCHER_WORD.findall(text.strip().strip("{}")))


def _maintenance(rest: str, command: str) -> Command:
    start = typed(command, 'maintenance 2h service="db"')
    usage = f"Usage: `{start}`, `{typed(command, 'maintenance list')}`, `{typed(command, 'maintenance end ID')}`"
    words = rest.split(maxsplit=1)
    if not words or words[0].lower() in ("list", "ls"):
        return Command("maintenance-list")
    if words[0].lower() == "end":
        if len(words) < 2 or len(words[1].split()) != 1:
            raise CommandError(f"Which window? {usage}")
        return Command("maintenance-end", text=words[1].strip())
    matchers = matcher_words(words[1][:MAX_MATCHERS]) if len(words) > 1 else ()
    if not matchers:
        raise CommandError(f"Which alerts? Give one or more matchers after the duration. {usage}")
    return Command("maintenance", duration=words[0], matchers=matchers)


def _heartbeats(rest: list[str], command: str) -> Command:
    usage = f"Usage: `{typed(command, 'heartbeats')}`, `{typed(command, 'heartbeats mute ID [duration]')}`, " \
            f"`{typed(command, 'heartbeats unmute ID')}`"
    if not rest or rest[0].lower() in ("list", "ls"):
        return Command("heartbeats")
    action, words = rest[0].lower(), " ".join(rest[1:]).split()
    if action not in ("mute", "unmute") or not words or len(words) > (2 if action == "mute" else 1):
        raise CommandError(usage)
    if action == "unmute":
        return Command("heartbeat-unmute", text=words[0])
    return Command("heartbeat-mute", text=words[0], duration=_duration(words[1] if len(words) > 1 else "") or "1h")


async def run(
    actions: ChatActions, command: Command, actor: str, source: ActionSource, public_url: str = ""
) -> Reply:
    """Carry out a parsed command other than help through the chat core."""
    number = command.incident_id or 0
    if command.name == "new" and command.template:
        return await actions.open_from_template(command.template, command.text or None, actor, source)
    if command.name in ("check", "uncheck"):
        return await actions.check(number, command.step or 0, command.name == "check", actor, source)
    if command.name == "postmortem":
        return await actions.postmortem(number, public_url)
    if command.name == "list":
        return await actions.list_open()
    if command.name == "oncall":
        return await actions.oncall()
    if command.name == "new":
        return await actions.open(command.text, actor, source)
    if command.name == "ack":
        return await actions.acknowledge(number, actor, source)
    if command.name == "resolve":
        return await actions.resolve(number, actor, source, command.text or None)
    if command.name == "note":
        return await actions.note(number, actor, source, command.text)
    if command.name == "silence":
        return await actions.silence(number, actor, source, command.duration)
    if command.name == "override":
        return await actions.override(command.user, command.duration or "", command.schedule, actor, source)
    return await _run_response(actions, command, actor, source)


async def _run_response(actions: ChatActions, command: Command, actor: str, source: ActionSource) -> Reply:
    """The second batch's commands: the actions around an acknowledgement, maintenance windows, heartbeats."""
    number = command.incident_id or 0
    if command.name == "unack":
        return await actions.unacknowledge(number, actor, source)
    if command.name == "reassign":
        return await actions.reassign(number, command.text, actor, source)
    if command.name == "escalate":
        return await actions.escalate(number, actor, source)
    if command.name == "snooze":
        return await actions.snooze(number, actor, source, command.duration)
    if command.name == "maintenance":
        return await actions.start_maintenance(command.duration or "", command.matchers, actor)
    if command.name == "maintenance-list":
        return await actions.list_maintenance()
    if command.name == "maintenance-end":
        return await actions.end_maintenance(command.text, actor)
    if command.name == "heartbeats":
        return await actions.list_heartbeats()
    if command.name in ("heartbeat-mute", "heartbeat-unmute"):
        return await actions.mute_heartbeat(command.text, command.duration, actor)
    return Reply(f"Unknown command {command.name!r}.", ok=False)
