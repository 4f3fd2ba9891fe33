"""A stand-in of the Telegram Bot API on 127.0.0.1, reached by the real python-telegram-bot.

PTB calls `{base_url}{token}/{method}`; with TELEGRAM_API_URL set to `FakeTelegramApi.url` the bot's
base URL is `{url}/bot`, so every call arrives at `/bot{token}/{method}`. Every call is recorded. Like
Telegram, sendMessage/editMessageText check the HTML entities and the 4,096-character limit.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from tests.support.loopback import serve

TEXT_FIELDS = frozenset({"text", "parse_mode", "url", "secret_token", "callback_query_id", "inline_message_id"})
ALLOWED_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "tg-spoiler",
                          "span", "blockquote", "tg-emoji"})
BOT_ID = 7000001
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the bot the stand-in knows unless told otherwise
MAX_TEXT = 4096


@dataclass
class Call:
    """One request the bot made."""

    token: str
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    remaining: int | None = None  # calls left to fail; None = until `until`
    until: float | None = None


class EntityError(ValueError):
    """The text is not valid Telegram HTML."""


class _TelegramHtml(HTMLParser):
    """Telegram's HTML parse mode, strictly: known tags, balanced, visible text measured in UTF-16 units."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise EntityError(f"Unsupported start tag \"{tag}\"")
        if tag == "a" and not dict(attrs).get("href"):
            raise EntityError("Can't find href of a link")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise EntityError(f"Can't find end tag corresponding to start tag \"{tag}\"")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text Telegram would show, raising EntityError where Telegram answers "can't parse entities"."""
    if (parse_mode or "").upper() != "HTML":
        return text
    if re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        raise EntityError("Unsupported HTML entity or bare '&'")
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise EntityError(f"Can't find end tag corresponding to start tag \"{parser.stack[-1]}\"")
    return "".join(parser.parts)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


class FakeTelegramApi:
    """Answers the Bot API methods Tocsin uses; tests queue updates and inject failures. Like Telegram, it
    answers 401 Unauthorized to a bot token it does not know (`tokens`: the bots it knows)."""

    def __init__(self, tokens: Iterable[str] = (TOKEN,)) -> None:
        self.tokens = set(tokens)
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.webhook: dict[str, Any] | None = None
        self.commands: list[dict[str, Any]] = []
        self._next_message_id = 1
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._update_added = asyncio.Event()
        self._failures: list[_Failure] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The value for TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeTelegramApi:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests use --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method, in order."""
        return [c for c in self.calls if c.method == method]

    def queue_update(self, update: dict[str, Any]) -> int:
        """Serve this update (without update_id) to getUpdates; returns its update_id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **update})
        self._update_added.set()
        return update_id

    def fail_next(self, count: int, status: int = 429, retry_after: int | None = None) -> None:
        """Answer the next `count` calls (getUpdates excepted) with this status."""
        self._failures.append(_Failure(status, retry_after, remaining=count))

    def fail_for(self, seconds: float, status: int = 500, retry_after: int | None = None) -> None:
        """Answer every call (getUpdates excepted) with this status for a period."""
        self._failures.append(_Failure(status, retry_after, until=time.monotonic() + seconds))

    async def wait_for(self, method: str, count: int = 1, within: float = 10) -> list[Call]:
        """Wait until `method` was called `count` times; AssertionError after `within` seconds."""
        deadline = time.monotonic() + within
        while len(self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} called {len(self.calls_to(method))} times, expected {count}")
            await asyncio.sleep(0.02)
        return self.calls_to(method)

    # -- the HTTP side ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        params = await _read_params(request)
        token, method = request.match_info["token"], request.match_info["method"]
        self.calls.append(Call(token, method, params))
        if token not in self.tokens:
            return _error(401, "Unauthorized")
        if method != "getUpdates":
            failure = self._take_failure()
            if failure is not None:
                return _failure_response(failure)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            return _ok(await handler(params))
        except _ApiError as exc:
            return _error(exc.status, exc.description)

    def _take_failure(self) -> _Failure | None:
        now = time.monotonic()
        for failure in list(self._failures):
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
            if failure.until is not None and now < failure.until:
                return failure
            self._failures.remove(failure)
        return None

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Tocsin", "username": "tocsin_test_bot",
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        self._check_text(params)
        message_id = self._next_message_id
        self._next_message_id += 1
        message = {"message_id": message_id, "date": int(time.time()), "text": params["text"],
                   "chat": {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private", "title": "ops"},
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tocsin"}}
        if params.get("message_thread_id"):
            message["message_thread_id"] = params["message_thread_id"]
            message["is_topic_message"] = True
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message_id)] = message
        return message

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (params.get("chat_id"), params.get("message_id"))
        message = self.messages.get(key)  # type: ignore[arg-type]
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        self._check_text(params)
        markup = params.get("reply_markup")
        if message["text"] == params["text"] and message.get("reply_markup") == markup:
            raise _ApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                 "markup are exactly the same as a current content and reply markup of the message")
        message["text"] = params["text"]
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return message

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands = params.get("commands", [])
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = params
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]  # an offset confirms earlier ones
        timeout = min(float(params.get("timeout") or 0), 30.0)
        deadline = time.monotonic() + timeout
        while not self._updates and time.monotonic() < deadline:
            self._update_added.clear()
            try:
                await asyncio.wait_for(self._update_added.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]

    def _check_text(self, params: dict[str, Any]) -> None:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        try:
            shown = visible_text(text, params.get("parse_mode"))
        except EntityError as exc:
            raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        if utf16_len(shown) > MAX_TEXT:
            raise _ApiError(400, "Bad Request: message is too long")


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


async def _read_params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return dict(await request.json())
    form = await request.post() if request.can_read_body else {}
    params: dict[str, Any] = {}
    for key, value in form.items():
        if not isinstance(value, str) or key in TEXT_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _failure_response(failure: _Failure) -> web.Response:
    if failure.status == 429:
        retry_after = failure.retry_after or 1
        return _error(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
    return _error(failure.status, "Internal Server Error")


def user_json(user_id: int, first_name: str = "Alice", username: str | None = "alice_tg") -> dict[str, Any]:
    """A Telegram User object."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        user["username"] = username
    return user


def chat_json(chat_id: int) -> dict[str, Any]:
    """A Telegram Chat object (negative ids are groups)."""
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "ops"}
    return {"id": chat_id, "type": "private", "first_name": "Alice"}


def message_update(text: str, chat_id: int, user: dict[str, Any]) -> dict[str, Any]:
    """An update carrying a text message (a /command when the text starts with '/')."""
    message: dict[str, Any] = {"message_id": 900, "date": int(time.time()), "chat": chat_json(chat_id),
                               "from": user, "text": text}
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"message": message}


def callback_update(data: str, chat_id: int, user: dict[str, Any], message_id: int = 1,
                    query_id: str = "cbq-1") -> dict[str, Any]:
    """An update carrying an inline button press on a bot message."""
    message = {"message_id": message_id, "date": int(time.time()), "chat": chat_json(chat_id),
               "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tocsin"}, "text": "incident"}
    return {"callback_query": {"id": query_id, "from": user, "chat_instance": "ci-1", "data": data,
                               "message": message}}
