"""Button clicks and the slash command: ack() at once, then call the chat core (bot/actions.py).

Slack wants an answer within 3 seconds, so every listener calls ack() before anything that may wait on
the database; bolt (process_before_response=False) answers the HTTP request as soon as ack() is called
and the rest of the listener runs after. Failures reach the person as an ephemeral message.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ChatActions
from bot.commands import CommandError, parse_command, run
from bot.people import Directory, Users
from bot.slack import render
from bot.slack.settings import SlackSettings
from store.domain.incident import ActionSource

log = logging.getLogger(__name__)

SOURCE = ActionSource.SLACK


class SlackPeople:
    """Who acted: the config user with that slack_id, else the member's Slack name (users.info, cached)."""

    def __init__(self, users: Users, client: AsyncWebClient | None = None) -> None:
        self.directory = Directory(users)
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
        config_user = self.directory.by("slack_id").get(user_id)
        if config_user is not None:
            return config_user
        return self.directory.outsider(await self._slack_name(user_id, fallback_name), user_id)


def _user(body: dict[str, Any]) -> tuple[str, str | None]:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id", "")), user.get("username") or user.get("name")
    return str(body.get("user_id", "")), body.get("user_name")


def _channel(body: dict[str, Any]) -> str:
    channel = body.get("channel")
    return str(channel.get("id", "")) if isinstance(channel, dict) else str(body.get("channel_id", ""))


class Listeners:
    """The bolt listeners, bound to the chat core, the people directory and the settings."""

    def __init__(self, actions: ChatActions, people: SlackPeople, settings: SlackSettings) -> None:
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

    async def on_button(self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        """ack_incident, resolve_incident and silence_incident clicks; the message itself shows success."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        if not isinstance(action, dict) or action.get("action_id") not in render.ACTIONS:
            await self.tell(body, respond, client, ":warning: This button is not understood; nothing was done.")
            return
        user_id, name = _user(body)
        actor = await self.people.actor(user_id, name)
        reply = await self.actions.press(render.ACTIONS[action["action_id"]], action.get("value", ""), actor, SOURCE)
        if not reply.ok:
            await self.tell(body, respond, client, render.reply_text(reply, self.settings.public_url))

    async def on_command(self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        """The slash command: list, ack, resolve, silence, note, oncall, new, help."""
        await ack()
        reply = await self.run_command(body)
        await self.tell(body, respond, client, reply)

    async def run_command(self, body: dict[str, Any]) -> str:
        """Carry out one slash command; the text to show the person."""
        command, public = self.settings.command, self.settings.public_url
        try:
            parsed = parse_command(str(body.get("text", "")), command)
        except CommandError as exc:
            return f":warning: {render.escape(str(exc))}"
        if parsed.name == "help":
            return render.help_text(command, self.actions.silence_enabled)
        user_id, name = _user(body)
        actor = await self.people.actor(user_id, name) if parsed.name not in ("list", "oncall") else ""
        return render.reply_text(await run(self.actions, parsed, actor, SOURCE, public), public)


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
