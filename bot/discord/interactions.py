"""POST /discord/interactions: Discord's signed interactions (PING, buttons, the /incident command).

Every request is checked before it is read: the Ed25519 signature (X-Signature-Ed25519) of the timestamp
(X-Signature-Timestamp) and the body, with the application's public key; a missing, wrong or stale one
(more than 5 minutes off) answers 401 and nothing is done. Discord wants an answer within 3 seconds, so a
button answers "deferred update" and a command "deferred, ephemeral" at once; the action runs after,
through the chat core, and its words reach the person as an ephemeral follow-up (a button: only when it
failed, since the message itself shows the change).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from quart import Blueprint, Response, current_app, request

from bot.actions import ChatActions, Reply
from bot.commands import CommandError, parse_command, run
from bot.discord import render
from bot.discord.client import DiscordApi, DiscordError
from bot.discord.settings import DiscordSettings
from bot.people import Directory, Users
from store.domain.incident import ActionSource
from store.throttle import auth_check, auth_failed

log = logging.getLogger(__name__)
PATH = "/discord/interactions"
SOURCE = ActionSource.DISCORD
MAX_BODY = 65_536
MAX_SKEW = 300  # seconds between Discord's timestamp and our clock
PING, COMMAND, COMPONENT = 1, 2, 3
PONG, DEFERRED_MESSAGE, DEFERRED_UPDATE = 1, 5, 6
EPHEMERAL = 64
COMMAND_NAME = "incident"
SUBCOMMANDS: dict[str, tuple[str, ...]] = {"list": (), "ack": ("id",), "resolve": ("id", "note"), "oncall": (),
                                           "override": ("user", "duration", "schedule")}
COMMANDS = [{
    "name": COMMAND_NAME,
    "description": "Tocsin incidents",
    "type": 1,
    "contexts": [0],  # guild channels only: a stranger's DM cannot act
    "options": [
        {"type": 1, "name": "list", "description": "Open incidents"},
        {"type": 1, "name": "ack", "description": "Acknowledge an incident",
         "options": [{"type": 4, "name": "id", "description": "Incident number", "required": True, "min_value": 1}]},
        {"type": 1, "name": "resolve", "description": "Resolve an incident",
         "options": [{"type": 4, "name": "id", "description": "Incident number", "required": True, "min_value": 1},
                     {"type": 3, "name": "note", "description": "Why or how", "max_length": 1000}]},
        {"type": 1, "name": "oncall", "description": "Who is on call now"},
        {"type": 1, "name": "override", "description": "Put someone on call from now",
         "options": [{"type": 6, "name": "user", "description": "Who", "required": True},
                     {"type": 3, "name": "duration", "description": "How long, such as 2h", "required": True,
                      "max_length": 10},
                     {"type": 3, "name": "schedule", "description": "Which schedule", "max_length": 64}]},
    ],
}]


def check_signature(key: VerifyKey, signature: str | None, stamp: str | None, body: bytes, now: float) -> str | None:
    """Why the request is not Discord's (None when it is): signature and timestamp checked."""
    if not signature or not stamp:
        return "missing X-Signature-Ed25519 or X-Signature-Timestamp"
    if not (stamp.isascii() and stamp.isdigit()) or abs(now - int(stamp)) > MAX_SKEW:
        return "stale or malformed X-Signature-Timestamp"
    try:
        key.verify(stamp.encode() + body, bytes.fromhex(signature))
    except (BadSignatureError, ValueError):
        return "invalid request signature"
    return None


def _text(value: object, limit: int = 100) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _word(option: str, value: object) -> str:
    """An option's value as the shared grammar reads it (a user option is a mention, so it is looked up by id)."""
    text = str(value).replace("\n", " ")[:1000]
    return f"<@{text}>" if option == "user" else text


class DiscordPeople:
    """Who acted: the config user with that discord_id, else the Discord name (never passing for a config user)."""

    def __init__(self, users: Users) -> None:
        self.directory = Directory(users)

    def actor(self, interaction: Mapping[str, Any]) -> str | None:
        """The actor of an interaction; None for a stranger outside any server (a DM from someone not in the
        config), who may not act."""
        member = interaction.get("member") if isinstance(interaction.get("member"), dict) else {}
        user = member.get("user") if isinstance(member.get("user"), dict) else interaction.get("user")
        user = user if isinstance(user, dict) else {}
        user_id = _text(user.get("id"), 30)
        config_user = self.directory.by("discord_id").get(user_id)
        if config_user is not None:
            return config_user
        if not member or not user_id:
            return None
        name = _text(member.get("nick")) or _text(user.get("global_name")) or _text(user.get("username")) or user_id
        return self.directory.outsider(name, user_id)


class Interactions:
    """Answers interactions and runs their actions through the chat core."""

    def __init__(
        self, actions: ChatActions, api: DiscordApi, settings: DiscordSettings, users: Users = ()
    ) -> None:
        self.actions = actions
        self.api = api
        self.settings = settings
        self.people = DiscordPeople(users)
        self.key = VerifyKey(bytes.fromhex(settings.public_key))
        self.work: set[asyncio.Task[None]] = set()

    def answer(self, interaction: Mapping[str, Any]) -> dict[str, Any] | None:
        """The immediate answer to a verified interaction (None: not one Tocsin knows); starts its action."""
        kind = interaction.get("type")
        if kind == PING:
            return {"type": PONG}
        token = _text(interaction.get("token"), 500)
        if kind not in (COMMAND, COMPONENT) or not token:
            return None
        actor = self.people.actor(interaction)
        data = interaction.get("data") if isinstance(interaction.get("data"), dict) else {}
        if kind == COMPONENT:
            self._later(self._press(data, actor, token))
            return {"type": DEFERRED_UPDATE}
        self._later(self._command(data, actor, token))
        return {"type": DEFERRED_MESSAGE, "data": {"flags": EPHEMERAL}}

    def _later(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.work.add(task)
        task.add_done_callback(self.work.discard)

    async def _press(self, data: Mapping[str, Any], actor: str | None, token: str) -> None:
        action, _, incident = _text(data.get("custom_id")).partition(":")
        if actor is None:
            reply = Reply("Not allowed: your Discord account has no discord_id in the Tocsin config. Nothing was "
                          "changed.", ok=False)
        elif action not in render.ACTIONS:
            reply = Reply("This button is not understood (an old message?); nothing was done.", ok=False)
        else:
            reply = await self.actions.press(render.ACTIONS[action], incident, actor, SOURCE)
        if not reply.ok:
            await self._tell(self.api.follow_up(token, render.reply_text(reply, self.settings.public_url)))

    async def _command(self, data: Mapping[str, Any], actor: str | None, token: str) -> None:
        text = await self.run_command(data, actor)
        await self._tell(self.api.edit_original(token, text))

    async def run_command(self, data: Mapping[str, Any], actor: str | None) -> str:
        """Carry out `/incident SUBCOMMAND [options]`; the text to show the person."""
        if actor is None:
            return "⚠️ Not allowed: your Discord account has no discord_id in the Tocsin config."
        options = data.get("options") if isinstance(data.get("options"), list) else []
        sub = options[0] if options and isinstance(options[0], dict) else {}
        name = _text(sub.get("name"), 20)
        if data.get("name") != COMMAND_NAME or name not in SUBCOMMANDS:
            return "⚠️ Unknown command; use /incident list, ack, resolve, oncall or override."
        given = {o.get("name"): o.get("value") for o in sub.get("options") or [] if isinstance(o, dict)}
        words = [name] + [_word(k, given[k]) for k in SUBCOMMANDS[name] if given.get(k) is not None]
        try:
            command = parse_command(" ".join(words), "/incident")
        except CommandError as exc:
            return f"⚠️ {render.escape(str(exc))}"
        public = self.settings.public_url
        return render.reply_text(await run(self.actions, command, actor, SOURCE, public), public)

    async def _tell(self, call: Awaitable[None]) -> None:
        try:
            await call
        except DiscordError as exc:  # the interaction token lasts 15 minutes; nothing more can be done
            log.warning("could not answer a Discord interaction: %s", exc)


def _refuse(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}})
    return Response(body, status=status, content_type="application/json")


def interactions_blueprint(interactions: Interactions) -> Blueprint:
    """POST /discord/interactions: signature first, then the answer."""
    blueprint = Blueprint("discord", __name__)

    @blueprint.post(PATH)
    async def discord_interactions() -> Response:
        auth_check(current_app.extensions, request)
        if (request.content_length or 0) > MAX_BODY:
            return _refuse(413, "payload_too_large", f"the body is larger than {MAX_BODY} bytes")
        body = await request.get_data(as_text=False)
        if len(body) > MAX_BODY:
            return _refuse(413, "payload_too_large", f"the body is larger than {MAX_BODY} bytes")
        headers = request.headers
        why = check_signature(interactions.key, headers.get("X-Signature-Ed25519"),
                              headers.get("X-Signature-Timestamp"), body, time.time())
        if why is not None:
            await auth_failed(current_app.extensions, request, "discord")
            return _refuse(401, "unauthorized", why)
        try:
            interaction = json.loads(body)
        except (ValueError, RecursionError):
            interaction = None
        answer = interactions.answer(interaction) if isinstance(interaction, dict) else None
        if answer is None:
            return _refuse(400, "invalid_payload", "not an interaction Tocsin handles")
        return Response(json.dumps(answer), status=200, content_type="application/json")

    return blueprint
