"""Commands and button presses: check who acts, call the incident actions, answer briefly."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from telegram import BotCommand, LinkPreviewOptions, Update, User
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.actions import ChatActions, Reply
from bot.commands import CommandError, parse_command, parse_override, run
from bot.people import Directory
from bot.telegram.render import MAX_TEXT, render_incident_list, shorten
from store.domain.incident import ActionSource

log = logging.getLogger(__name__)
SOURCE = ActionSource.TELEGRAM
COMMANDS = (
    BotCommand("incidents", "List open incidents"),
    BotCommand("ack", "Acknowledge an incident: /ack ID"),
    BotCommand("resolve", "Resolve an incident: /resolve ID [note]"),
    BotCommand("unack", "Unacknowledge an incident: /unack ID"),
    BotCommand("reassign", "Hand an incident to someone: /reassign ID USER"),
    BotCommand("escalate", "Page an incident's next escalation step now: /escalate ID"),
    BotCommand("snooze", "Acknowledge for a while: /snooze ID [duration]"),
    BotCommand("maintenance", "Maintenance windows: /maintenance 2h service=\"db\", list, end ID"),
    BotCommand("heartbeats", "Heartbeats: list, mute ID [duration], unmute ID"),
    BotCommand("oncall", "Who is on call now"),
    BotCommand("check", "Tick a checklist step: /check ID STEP"),
    BotCommand("uncheck", "Untick a checklist step: /uncheck ID STEP"),
    BotCommand("postmortem", "Link to an incident's post-mortem: /postmortem ID"),
    BotCommand("new", "Open an incident: /new TITLE or /new --template ID [TITLE]"),
    BotCommand("override", "Put someone on call: /override @USER DURATION [SCHEDULE]"),
    BotCommand("help", "What this bot can do"),
)
LINE_COMMANDS = ("unack", "reassign", "escalate", "snooze", "maintenance", "heartbeats")
HELP = (
    "<b>Tocsin</b> posts incidents here; the buttons under each message act on it.\n"
    "/incidents — open incidents\n"
    "/ack ID — acknowledge incident ID\n"
    "/resolve ID [note] — resolve it, with an optional note\n"
    "/unack ID — unacknowledge it: triggered again, escalation from its first step\n"
    "/reassign ID USER — acknowledged by another user of the config, who is told\n"
    "/escalate ID — page its escalation's next step now\n"
    "/snooze ID [duration] — acknowledge it until then (default 1h), then triggered again\n"
    "/maintenance 2h service=\"db\" — a maintenance window from now: matching alerts do not page\n"
    "/maintenance list, /maintenance end ID — the windows, or end one\n"
    "/heartbeats — heartbeats and their last pings; /heartbeats mute ID [duration], /heartbeats unmute ID\n"
    "/oncall — who is on call now\n"
    "/check ID STEP, /uncheck ID STEP — tick or untick a step of its checklist\n"
    "/postmortem ID — the link to its post-mortem\n"
    "/new TITLE, /new --template ID [TITLE] — open an incident (from a response template)\n"
    "/incident postmortem|check|uncheck|new … — the same, written as in Slack\n"
    "/override @USER DURATION [SCHEDULE] — put someone (or me) on call from now, e.g. /override @alice 2h\n"
    "/help — this text"
)


@dataclass(frozen=True, slots=True)
class Authorizer:
    """Trusted chats (TELEGRAM_CHAT_ID) and config users by telegram_id."""

    chat_ids: frozenset[int] = frozenset()
    directory: Directory = field(default_factory=Directory)

    def actor(self, user: User | None, chat_id: int | None) -> str | None:
        """Who may speak here (config user id, else the Telegram name), or None; what they may do is the chat
        core's to say (roles, chat_strangers)."""
        if user is None:
            return None
        config_user = self.directory.by("telegram_id").get(str(user.id))
        if config_user is not None:
            return config_user
        if chat_id is not None and chat_id in self.chat_ids:
            return self.directory.outsider(telegram_name(user), user.id)
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


def reply_text(reply: Reply, limit: int = 200) -> str:
    """A chat core reply as a short plain line: ✔️ when it worked."""
    return shorten(f"{reply.text} ✔️" if reply.ok else reply.text, limit)


@dataclass(frozen=True, slots=True)
class Handlers:
    """The bot's handlers, bound to the chat core, the authorizer and the dashboard URL."""

    actions: ChatActions
    authorizer: Authorizer
    public_url: str

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        """Add every command and the button handler to the application."""
        application.add_handler(CommandHandler(["start", "help"], self.help))
        application.add_handler(CommandHandler("incidents", self.incidents))
        application.add_handler(CommandHandler("ack", self.ack))
        application.add_handler(CommandHandler("resolve", self.resolve))
        application.add_handler(CommandHandler("oncall", self.oncall))
        application.add_handler(CommandHandler(["check", "uncheck", "postmortem", "new", "incident"], self.command))
        application.add_handler(CommandHandler("override", self.override))
        application.add_handler(CommandHandler(list(LINE_COMMANDS), self.command_line))
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
        reply = await self.actions.list_open()
        if not reply.ok:
            await self._reply(update, reply.text, html=False)
            return
        await self._reply(update, render_incident_list(reply.incidents, self.public_url))

    async def oncall(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/oncall: who is on call now."""
        if await self._allowed(update) is None:
            return
        await self._reply(update, (await self.actions.oncall()).text, html=False)

    async def ack(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/ack ID."""
        actor = await self._allowed(update)
        if actor is None:
            return
        if not context.args:
            await self._reply(update, "Usage: /ack ID — the incident number, e.g. /ack 42", html=False)
            return
        reply = await self.actions.acknowledge(context.args[0], actor, SOURCE)
        await self._reply(update, reply_text(reply), html=False)

    async def resolve(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/resolve ID [note]: the note is the rest of the line, as typed."""
        actor = await self._allowed(update)
        if actor is None:
            return
        parts = (update.effective_message.text or "").split(maxsplit=2) if update.effective_message else []
        if len(parts) < 2:
            await self._reply(update, "Usage: /resolve ID [note] — e.g. /resolve 42 disk cleaned up", html=False)
            return
        note = parts[2].strip() if len(parts) > 2 else None
        reply = await self.actions.resolve(parts[1], actor, SOURCE, note or None)
        await self._reply(update, reply_text(reply), html=False)

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/check, /uncheck, /postmortem, /new, and /incident SUBCOMMAND … as in Slack: through the shared grammar."""
        actor = await self._allowed(update)
        if actor is None:
            return
        text = update.effective_message.text if update.effective_message and update.effective_message.text else ""
        name, _, rest = text.partition(" ")
        name = name.lstrip("/").split("@", 1)[0].lower()
        line = rest if name == "incident" else f"{name} {rest}"
        try:
            parsed = parse_command(line, "/incident")
        except CommandError as exc:
            await self._reply(update, shorten(str(exc).replace("`", ""), 300), html=False)
            return
        if parsed.name == "help":
            await self._reply(update, HELP)
            return
        reply = await run(self.actions, parsed, actor, SOURCE, self.public_url)
        await self._reply(update, reply_text(reply, limit=400), html=False)

    async def override(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/override @USER DURATION [SCHEDULE]: the shared grammar's override, for Telegram."""
        actor = await self._allowed(update)
        if actor is None:
            return
        try:
            command = parse_override(list(context.args or []), "/override @USER DURATION [SCHEDULE]")
        except CommandError as exc:
            await self._reply(update, str(exc).replace("`", ""), html=False)
            return
        reply = await self.actions.override(command.user, command.duration or "", command.schedule, actor, SOURCE)
        await self._reply(update, reply_text(reply), html=False)

    async def command_line(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/unack, /reassign, /escalate, /snooze, /maintenance, /heartbeats: the words after the command are read
        as Slack's `/incident NAME …` (matchers may hold quoted spaces, so the line as typed, not context.args)."""
        actor = await self._allowed(update)
        if actor is None:
            return
        words = (update.effective_message.text or "").split(maxsplit=1) if update.effective_message else []
        name = words[0].lstrip("/").partition("@")[0] if words else ""
        try:
            parsed = parse_command(f"{name} {words[1] if len(words) > 1 else ''}", "")
        except CommandError as exc:
            await self._reply(update, str(exc).replace("`", ""), html=False)
            return
        reply = await run(self.actions, parsed, actor, SOURCE)
        await self._reply(update, f"{reply.text} ✔️" if reply.ok and reply.incident else reply.text, html=False)

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
        await query.answer(reply_text(await self.actions.press(action, raw_id, actor, SOURCE)))

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log an unexpected error and still answer: the button's spinner stops, the command gets a reply."""
        log.error("telegram handler failed", exc_info=context.error)
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

    async def _reply(self, update: Update, text: str, html: bool = True) -> None:
        if update.effective_message is None:
            return
        await update.effective_message.reply_text(
            text if html else shorten(text, MAX_TEXT),
            parse_mode=ParseMode.HTML if html else None,
            do_quote=False,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )

