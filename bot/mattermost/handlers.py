"""POST /mattermost/actions (button clicks) and POST /mattermost/command (the /incident slash command).

Mattermost's server posts both; Tocsin checks what only it and that server know before anything else: the
buttons carry MATTERMOST_ACTION_SECRET in their context, the slash command MATTERMOST_COMMAND_TOKEN. A
request without it answers 401 and nothing is done. The action runs through the chat core and the answer
is what Mattermost shows the person (ephemeral); the post itself is edited by the delivery worker.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from quart import Blueprint, Response, current_app, request

from bot.actions import ChatActions
from bot.commands import CommandError, parse_command, run
from bot.mattermost import render
from bot.mattermost.settings import MattermostSettings
from bot.people import Directory, Users
from store.domain.incident import ActionSource
from store.throttle import auth_check, auth_failed

log = logging.getLogger(__name__)
SOURCE = ActionSource.MATTERMOST
ACTIONS_PATH = "/mattermost/actions"
COMMAND_PATH = "/mattermost/command"
MAX_BODY = 65_536


def _text(value: object, limit: int = 100) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def same(given: str, expected: str | None) -> bool:
    """A secret compared in constant time (an unset one never matches)."""
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


class MattermostPeople:
    """Who acted: the config user whose mattermost_id is the user's id or username, else the username."""

    def __init__(self, users: Users) -> None:
        self.directory = Directory(users)

    def actor(self, user_id: str, user_name: str) -> str:
        """The actor recorded on the timeline."""
        by_id = {key.removeprefix("@"): config_id for key, config_id in self.directory.by("mattermost_id").items()}
        for key in (user_id, user_name):
            if key and key in by_id:
                return by_id[key]
        return self.directory.outsider(user_name or user_id or "unknown", user_id)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _refuse(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message, "details": []}}, status)


class MattermostHandlers:
    """The two routes, bound to the chat core, the people directory and the settings."""

    def __init__(self, actions: ChatActions, settings: MattermostSettings, users: Users = ()) -> None:
        self.actions = actions
        self.settings = settings
        self.people = MattermostPeople(users)

    async def on_action(self, payload: Mapping[str, Any]) -> Response:
        """A button click, once its secret is checked."""
        context = payload.get("context") if isinstance(payload.get("context"), dict) else {}
        if not same(_text(context.get("secret"), 200), self.settings.action_secret):
            return _refuse(401, "unauthorized", "the button request does not carry MATTERMOST_ACTION_SECRET")
        actor = self.people.actor(_text(payload.get("user_id"), 40), _text(payload.get("user_name"), 80))
        action, incident = _text(context.get("action"), 20), context.get("incident_id")
        reply = await self.actions.press(action, incident if isinstance(incident, int | str) else "", actor, SOURCE)
        if reply.ok:
            return _json({})
        return _json({"ephemeral_text": render.reply_text(reply, self.settings.public_url)})

    async def on_command(self, form: Mapping[str, str]) -> Response:
        """The slash command, once its token is checked."""
        if not same(form.get("token", ""), self.settings.command_token):
            return _refuse(401, "unauthorized", "the slash command does not carry MATTERMOST_COMMAND_TOKEN")
        return _json({"response_type": "ephemeral", "text": await self.run_command(form)})

    async def run_command(self, form: Mapping[str, str]) -> str:
        """Carry out `/incident …`; the text to show the person."""
        try:
            command = parse_command(form.get("text", "")[:2000], "/incident")
        except CommandError as exc:
            return f":warning: {render.escape(str(exc))}"
        if command.name == "help":
            return render.help_text(self.actions.silence_enabled)
        actor = self.people.actor(_text(form.get("user_id"), 40), _text(form.get("user_name"), 80))
        public = self.settings.public_url
        return render.reply_text(await run(self.actions, command, actor, SOURCE, public), public)

    def blueprint(self) -> Blueprint:
        """POST /mattermost/actions and POST /mattermost/command."""
        blueprint = Blueprint("mattermost", __name__)

        @blueprint.post(ACTIONS_PATH)
        async def mattermost_actions() -> Response:
            auth_check(current_app.extensions, request)
            body = await _body()
            if body is None:
                return _refuse(413, "payload_too_large", f"the body is larger than {MAX_BODY} bytes")
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):
                payload = None
            if not isinstance(payload, dict):
                return _refuse(400, "invalid_payload", "expected Mattermost's button request: a JSON object")
            return await _counted(await self.on_action(payload))

        @blueprint.post(COMMAND_PATH)
        async def mattermost_command() -> Response:
            auth_check(current_app.extensions, request)
            body = await _body()
            if body is None:
                return _refuse(413, "payload_too_large", f"the body is larger than {MAX_BODY} bytes")
            form = dict(parse_qsl(body.decode("utf-8", errors="replace"), max_num_fields=50))
            return await _counted(await self.on_command(form))

        return blueprint


async def _counted(response: Response) -> Response:
    """A refused secret or token (401) counts towards the client's authentication failures."""
    if response.status_code == 401:
        await auth_failed(current_app.extensions, request, "mattermost")
    return response


async def _body() -> bytes | None:
    """The request's body, or None when it is larger than MAX_BODY."""
    if (request.content_length or 0) > MAX_BODY:
        return None
    body = await request.get_data(as_text=False)
    return body if len(body) <= MAX_BODY else None
