"""Commands and button presses: check who acts, call the incident actions, answer briefly."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from telegram import BotCommand, LinkPreviewOptions, Update, User
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.telegram.render import MAX_TEXT, render_incident_list, shorten
from store.domain.incident import ActionSource, InvalidTransition
from store.errors import ApiError, DatabaseUnavailable
from store.models import Incident
from store.sql.incidents import NotFound

log = logging.getLogger(__name__)
SOURCE = ActionSource.TELEGRAM
SILENCE_SECONDS = 3600
COMMANDS = (
    BotCommand("incidents", "List open incidents"),
    BotCommand("ack", "Acknowledge an incident: /ack ID"),
    BotCommand("resolve", "Resolve an incident: /resolve ID [note]"),
    BotCommand("oncall", "Who is on call now"),
    BotCommand("check", "Tick a checklist step: /check ID STEP"),
    BotCommand("uncheck", "Untick a checklist step: /uncheck ID STEP"),
    BotCommand("postmortem", "Link to an incident's post-mortem: /postmortem ID"),
    BotCommand("new", "Open an incident: /new TITLE or /new --template ID [TITLE]"),
    BotCommand("help", "What this bot can do"),
)
HELP = (
    "<b>Tocsin</b> posts incidents here; the buttons under each message act on it.\n"
    "/incidents — open incidents\n"
    "/ack ID — acknowledge incident ID\n"
    "/resolve ID [note] — resolve it, with an optional note\n"
    "/oncall — who is on call now\n"
    "/check ID STEP, /uncheck ID STEP — tick or untick a step of its checklist\n"
    "/postmortem ID — the link to its post-mortem\n"
    "/new TITLE, /new --template ID [TITLE] — open an incident (from a response template)\n"
    "/incident postmortem|check|uncheck|new … — the same, as in Slack\n"
    "/help — this text"
)


class IncidentActions(Protocol):
    """What the bot may do to incidents; the composition root binds it to the store services."""

    async def acknowledge(self, incident_id: int, actor: str, source: ActionSource) -> object: ...

    async def resolve(self, incident_id: int, actor: str, source: ActionSource, note: str | None) -> object: ...

    async def silence(self, incident_id: int, duration_seconds: float, actor: str, source: ActionSource) -> object: ...

    async def list_open(self) -> Sequence[Incident]: ...

    async def oncall_text(self) -> str: ...

    async def check_step(self, incident_id: int, step: int, done: bool, actor: str, source: ActionSource) -> object: ...

    async def postmortem_link(self, incident_id: int) -> str: ...

    async def open_manual(self, title: str, actor: str, source: ActionSource) -> Incident: ...

    async def open_from_template(
        self, template_id: str, title: str | None, actor: str, source: ActionSource
    ) -> Incident: ...


@dataclass(frozen=True, slots=True)
class Authorizer:
    """Trusted chats (TELEGRAM_CHAT_ID) and config users by telegram_id."""

    chat_ids: frozenset[int] = frozenset()
    users: Mapping[int, str] = field(default_factory=dict)  # telegram_id -> config user id

    def actor(self, user: User | None, chat_id: int | None) -> str | None:
        """Who acts (config user id, else the Telegram name), or None when not allowed."""
        if user is None:
            return None
        config_user = self.users.get(user.id)
        if config_user is not None:
            return config_user
        if chat_id is not None and chat_id in self.chat_ids:
            return telegram_name(user)
        return None


def telegram_name(user: User) -> str:
    """A readable name for someone outside the config."""
    if user.username:
        return f"@{user.username}"
    return user.full_name or f"telegram:{user.id}"


def refusal(user: User | None, chat_id: int | None) -> str:
    """Why nothing happened, with what an admin needs to allow it."""
    who = f"your Telegram account (id {user.id})" if user else "this sender"
    return (
        f"Not allowed: this chat (id {chat_id}) is not in TELEGRAM_CHAT_ID and {who} has no telegram_id "
        "in the Tocsin config. Nothing was changed."
    )


def parse_incident_id(text: str) -> int | None:
    """'42' or '#42' to 42; None for anything else."""
    text = text.strip().removeprefix("#")
    if not (text.isascii() and text.isdigit()) or len(text) > 18:  # "¹".isdigit() is true, int("¹") fails
        return None
    return int(text) if 0 < int(text) < 2**63 else None


@dataclass(frozen=True, slots=True)
class Handlers:
    """The bot's handlers, bound to the actions, the authorizer and the dashboard URL."""

    actions: IncidentActions
    authorizer: Authorizer
    public_url: str

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        """Add every command and the button handler to the application."""
        application.add_handler(CommandHandler(["start", "help"], self.help))
        application.add_handler(CommandHandler("incidents", self.incidents))
        application.add_handler(CommandHandler("ack", self.ack))
        application.add_handler(CommandHandler("resolve", self.resolve))
        application.add_handler(CommandHandler("oncall", self.oncall))
        application.add_handler(CommandHandler("check", self.check))
        application.add_handler(CommandHandler("uncheck", self.check))
        application.add_handler(CommandHandler("postmortem", self.postmortem))
        application.add_handler(CommandHandler("new", self.new))
        application.add_handler(CommandHandler("incident", self.incident))
        application.add_handler(CallbackQueryHandler(self.button))
        application.add_error_handler(self.error)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help and /start: what the bot does, and the ids an admin needs to allow this chat or user."""
        user, chat = update.effective_user, update.effective_chat
        ids = f"\n\nThis chat's id: <code>{chat.id if chat else '?'}</code>"
        if user:
            ids += f"; your Telegram id: <code>{user.id}</code>"
        await self._reply(update, HELP + ids)

    async def incidents(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/incidents: the open incidents."""
        if await self._allowed(update) is None:
            return
        await self._reply(update, render_incident_list(await self.actions.list_open(), self.public_url))

    async def oncall(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/oncall: who is on call now."""
        if await self._allowed(update) is None:
            return
        await self._reply(update, await self.actions.oncall_text(), html=False)

    async def ack(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/ack ID."""
        actor = await self._allowed(update)
        if actor is None:
            return
        incident_id = parse_incident_id(context.args[0]) if context.args else None
        if incident_id is None:
            await self._reply(update, "Usage: /ack ID — the incident number, e.g. /ack 42", html=False)
            return
        text = await self._act(self.actions.acknowledge(incident_id, actor, SOURCE), f"#{incident_id} acknowledged")
        await self._reply(update, text, html=False)

    async def resolve(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/resolve ID [note]: the note is the rest of the line, as typed."""
        actor = await self._allowed(update)
        if actor is None:
            return
        parts = (update.effective_message.text or "").split(maxsplit=2) if update.effective_message else []
        incident_id = parse_incident_id(parts[1]) if len(parts) > 1 else None
        if incident_id is None:
            await self._reply(update, "Usage: /resolve ID [note] — e.g. /resolve 42 disk cleaned up", html=False)
            return
        note = parts[2].strip() if len(parts) > 2 else None
        call = self.actions.resolve(incident_id, actor, SOURCE, note or None)
        await self._reply(update, await self._act(call, f"#{incident_id} resolved"), html=False)

    async def incident(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/incident SUBCOMMAND …: Slack's grammar for postmortem, check, uncheck and new."""
        words = list(context.args or [])
        handlers = {"postmortem": self.postmortem, "check": self.check, "uncheck": self.check, "new": self.new}
        if not words or words[0].lower() not in handlers:
            await self._reply(update, HELP)
            return
        await handlers[words[0].lower()](update, context, words[0].lower(), words[1:])

    async def check(self, update: Update, context: ContextTypes.DEFAULT_TYPE, name: str | None = None,
                    args: list[str] | None = None) -> None:
        """/check ID STEP and /uncheck ID STEP: who and when go on the timeline."""
        actor = await self._allowed(update)
        if actor is None:
            return
        name = name or _command_name(update)
        args = list(context.args or []) if args is None else args
        incident_id = parse_incident_id(args[0]) if len(args) == 2 else None
        step = parse_incident_id(args[1]) if len(args) == 2 else None
        if incident_id is None or step is None:
            await self._reply(update, f"Usage: /{name} ID STEP — e.g. /{name} 42 2", html=False)
            return
        done = name == "check"
        call = self.actions.check_step(incident_id, step, done, actor, SOURCE)
        verb = "done" if done else "reopened"
        await self._reply(update, await self._act(call, f"#{incident_id} step {step} {verb}"), html=False)

    async def postmortem(self, update: Update, context: ContextTypes.DEFAULT_TYPE, name: str | None = None,
                         args: list[str] | None = None) -> None:
        """/postmortem ID: the link to the incident's post-mortem (once it is resolved)."""
        if await self._allowed(update) is None:
            return
        args = list(context.args or []) if args is None else args
        incident_id = parse_incident_id(args[0]) if len(args) == 1 else None
        if incident_id is None:
            await self._reply(update, "Usage: /postmortem ID — e.g. /postmortem 42", html=False)
            return
        try:
            link = await self.actions.postmortem_link(incident_id)
        except (NotFound, ApiError) as exc:
            if isinstance(exc, DatabaseUnavailable):
                raise
            await self._reply(update, shorten(_capitalized(getattr(exc, "message", str(exc))), 300), html=False)
            return
        shown = html.escape(link)
        await self._reply(update, f'Post-mortem of #{incident_id}: <a href="{shown}">{shown}</a>')

    async def new(self, update: Update, context: ContextTypes.DEFAULT_TYPE, name: str | None = None,
                  args: list[str] | None = None) -> None:
        """/new TITLE or /new --template ID [TITLE]: open an incident by hand."""
        actor = await self._allowed(update)
        if actor is None:
            return
        args = list(context.args or []) if args is None else args
        if args[:1] == ["--template"]:
            if len(args) < 2:
                await self._reply(update, "Usage: /new --template ID [TITLE]", html=False)
                return
            title = " ".join(args[2:]).strip()[:300] or None
            call = self.actions.open_from_template(args[1][:64], title, actor, SOURCE)
        elif args:
            call = self.actions.open_manual(" ".join(args).strip()[:300], actor, SOURCE)
        else:
            await self._reply(update, "Usage: /new TITLE or /new --template ID [TITLE]", html=False)
            return
        try:
            opened = await call
        except ApiError as exc:
            if isinstance(exc, DatabaseUnavailable):
                raise
            await self._reply(update, shorten(_capitalized(exc.message), 300), html=False)
            return
        await self._reply(update, f"#{opened.id} opened: {shorten(opened.title, 200)}. ✔️", html=False)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline button: always answered, so the client's spinner stops."""
        query = update.callback_query
        if query is None:
            return
        chat_id = query.message.chat.id if query.message else None
        actor = self.authorizer.actor(query.from_user, chat_id)
        if actor is None:
            await query.answer(refusal(query.from_user, chat_id), show_alert=True)
            return
        action, _, raw_id = (query.data or "").partition(":")
        incident_id = parse_incident_id(raw_id)
        if incident_id is None or action not in ("ack", "resolve", "silence"):
            await query.answer("This button is not understood (an old message?). Nothing was changed.")
            return
        if action == "ack":
            call = self.actions.acknowledge(incident_id, actor, SOURCE)
            done = f"#{incident_id} acknowledged"
        elif action == "resolve":
            call = self.actions.resolve(incident_id, actor, SOURCE, None)
            done = f"#{incident_id} resolved"
        else:
            call = self.actions.silence(incident_id, SILENCE_SECONDS, actor, SOURCE)
            done = f"#{incident_id}: alerts silenced for 1h"
        await query.answer(await self._act(call, done))

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log an unexpected error and still answer: the button's spinner stops, the command gets a reply."""
        error = context.error
        if isinstance(error, ApiError):  # e.g. the database is unavailable: say so, it is not a bug
            log.warning("telegram action failed: %s", error.message)
            text = f"{_capitalized(error.message)}. Nothing was changed; try again."
        else:
            log.error("telegram handler failed", exc_info=error)
            text = "Something went wrong; nothing may have changed. Try again, or use the dashboard."
        if not isinstance(update, Update):
            return
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(shorten(text, 200))
            elif update.effective_message is not None:
                await self._reply(update, text, html=False)
        except TelegramError:  # the query may have expired, or Telegram is unreachable
            log.debug("could not tell the user about the error", exc_info=True)

    async def _allowed(self, update: Update) -> str | None:
        chat_id = update.effective_chat.id if update.effective_chat else None
        actor = self.authorizer.actor(update.effective_user, chat_id)
        if actor is None:
            await self._reply(update, refusal(update.effective_user, chat_id), html=False)
        return actor

    async def _act(self, call: Awaitable[object], done: str) -> str:
        """Await an action and say what came of it in one short line."""
        try:
            await call
        except (InvalidTransition, NotFound) as exc:
            return _capitalized(str(exc))
        except ApiError as exc:
            if isinstance(exc, DatabaseUnavailable):
                raise  # the error handler says the database is away; try again
            return shorten(_capitalized(exc.message), 200)
        return f"{done}. ✔️"

    async def _reply(self, update: Update, text: str, html: bool = True) -> None:
        if update.effective_message is None:
            return
        await update.effective_message.reply_text(
            text if html else shorten(text, MAX_TEXT),
            parse_mode=ParseMode.HTML if html else None,
            do_quote=False,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )


def _command_name(update: Update) -> str:
    """The command as typed, without the slash and any @botname: "check" or "uncheck"."""
    text = update.effective_message.text if update.effective_message and update.effective_message.text else ""
    return text.split(maxsplit=1)[0].lstrip("/").split("@", 1)[0].lower() if text else ""


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
