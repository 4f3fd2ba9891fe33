"""The Telegram channel of the delivery pipeline: send an incident's message, then edit it on every change."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Protocol

from telegram import Bot, LinkPreviewOptions, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot import present
from bot.delivery import SendResult
from bot.telegram.render import MAX_TEXT, Rendered, breach_reply, render_incident, shorten
from bot.telegram.settings import ChatTarget, TelegramSettings, TelegramSettingsError, parse_chat
from store.models import Event, Incident

# Changes that call for someone's attention beyond the edited message: a reminder, a lapsed acknowledgement or
# snooze, a change of hands. Each is also posted as a reply to the incident's message (an edit does not notify).
NUDGES = frozenset({"reminder", "ack_lapsed", "reassigned"})


class Delivery(Protocol):
    """What the channel reads of a delivery: its kind, target chat and the ref of the message sent on open."""

    @property
    def kind(self) -> str: ...  # "open" or "update"

    @property
    def target(self) -> str | None: ...  # "chat_id" or "chat_id:topic_id"; None = the first TELEGRAM_CHAT_ID

    @property
    def external_ref(self) -> str | None: ...  # "chat_id:message_id" from the open send


class TelegramChannel:
    """Sends incidents to Telegram as HTML with an inline keyboard, and edits them in place."""

    name = "telegram"

    def __init__(self, bot: Bot, settings: TelegramSettings, names: Mapping[str, str] | None = None) -> None:
        self.bot = bot
        self.settings = settings
        self.names = dict(names or {})

    def render(self, incident: Incident, recent_events: Sequence[Event]) -> Rendered:
        """The message for this incident as it stands."""
        return render_incident(
            incident,
            public_url=self.settings.public_url,
            silence_enabled=self.settings.alertmanager_url is not None,
            recent_events=recent_events,
            names=self.names,
        )

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Open: post a new message (ref "chat_id:message_id"). Update: edit the message of that ref."""
        rendered = self.render(incident, recent_events)
        if delivery.kind == "open":
            return await guarded(lambda: self._post(self._target(delivery), rendered))
        if delivery.kind == "update":
            edited = await guarded(lambda: self._edit(delivery.external_ref, rendered))
            latest = max(recent_events, key=lambda e: (e.created_at, e.id), default=None)
            if edited.ok and latest is not None and latest.kind == "sla_breached":
                return await guarded(lambda: self._reply(delivery.external_ref, breach_reply(latest)))
            nudge = present.latest_event(recent_events)
            if not edited.ok or nudge is None or nudge.kind not in NUDGES:
                return edited
            line = shorten(f"#{incident.id}: {present.event_line(nudge, self.names)}", MAX_TEXT)
            return await guarded(lambda: self._reply(delivery.external_ref, line))
        return SendResult(False, error=f"unknown delivery kind {delivery.kind!r}: expected 'open' or 'update'")

    async def announce(self, delivery: Delivery, text: str) -> SendResult:
        """Post a message of its own (a handoff announcement), as plain text, to the delivery's chat."""
        return await guarded(lambda: self._post(self._target(delivery), Rendered(text, None), parse_mode=None))

    def _target(self, delivery: Delivery) -> ChatTarget:
        if delivery.target:
            try:
                return parse_chat(delivery.target, "telegram_chat")
            except TelegramSettingsError as exc:
                raise _NoTarget(str(exc)) from None
        if not self.settings.chats:
            raise _NoTarget("no Telegram chat: the route names none and TELEGRAM_CHAT_ID is unset")
        return self.settings.chats[0]

    async def _post(
        self, target: ChatTarget, rendered: Rendered, parse_mode: str | None = ParseMode.HTML
    ) -> SendResult:
        message = await self.bot.send_message(
            chat_id=target.chat_id,
            message_thread_id=target.topic_id,
            text=rendered.text,
            parse_mode=parse_mode,
            reply_markup=rendered.keyboard,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return SendResult(True, external_ref=f"{message.chat_id}:{message.message_id}")

    async def _reply(self, external_ref: str | None, text: str) -> SendResult:
        """A plain-text reply under the incident's message (an SLA breach)."""
        chat_id, message_id = _parse_ref(external_ref)
        await self.bot.send_message(
            chat_id=chat_id,
            text=text,
            reply_parameters=ReplyParameters(message_id, allow_sending_without_reply=True),
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return SendResult(True, external_ref=external_ref)

    async def _edit(self, external_ref: str | None, rendered: Rendered) -> SendResult:
        chat_id, message_id = _parse_ref(external_ref)
        try:
            await self.bot.edit_message_text(
                chat_id=chat_id,
                message_id=message_id,
                text=rendered.text,
                parse_mode=ParseMode.HTML,
                reply_markup=rendered.keyboard,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as exc:
            # Telegram refuses an edit that changes nothing; the message already shows this state.
            if "message is not modified" not in exc.message.lower():
                raise
        return SendResult(True, external_ref=external_ref)


async def guarded(action: Callable[[], Awaitable[SendResult]]) -> SendResult:
    """Run one Bot API action; Telegram's and the target's failures become a failed SendResult."""
    try:
        return await action()
    except RetryAfter as exc:
        seconds = retry_after_seconds(exc)
        return SendResult(False, retry_after=seconds, error=f"Telegram flood control: retry after {seconds:g}s")
    except _NoTarget as exc:
        return SendResult(False, error=str(exc))
    except TelegramError as exc:
        return SendResult(False, error=f"Telegram: {exc.message}")


class _NoTarget(Exception):
    """The delivery names no usable chat or message."""


def _parse_ref(external_ref: str | None) -> tuple[int, int]:
    chat, _, message = (external_ref or "").partition(":")
    try:
        return int(chat), int(message)
    except ValueError:
        raise _NoTarget(f"cannot edit: external_ref {external_ref!r} is not 'chat_id:message_id'") from None


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter's wait in seconds, whichever type this PTB version gives (int, or timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the int form will become a timedelta
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
