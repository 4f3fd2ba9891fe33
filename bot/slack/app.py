"""The slack-bolt AsyncApp, served at POST /slack/events by a Quart route, or over Socket Mode.

slack-bolt has no Quart adapter; `events_blueprint` mirrors its Starlette one
(slack_bolt/adapter/starlette/async_handler.py): body and headers in, BoltResponse out. Bolt checks the
signature and the timestamp (older than 5 minutes is refused) before any listener runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from quart import Blueprint, Response, current_app, request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ChatActions
from bot.people import Directory, LiveNames, Users
from bot.slack.client import SlackChannel, make_web_client
from bot.slack.handlers import Listeners, SlackPeople, register
from bot.slack.settings import SlackSettings
from store.throttle import auth_check, auth_failed

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def build_bolt_app(
    settings: SlackSettings,
    actions: ChatActions,
    users: Users = (),
    client: AsyncWebClient | None = None,
) -> AsyncApp:
    """The bolt app with Tocsin's listeners, using the Web API at SLACK_API_URL."""
    client = client or make_web_client(settings)
    app = AsyncApp(
        name="tocsin",
        client=client,  # carries the bot token
        # Socket Mode needs no signing secret (bolt skips the check there); "" never matches a signature.
        signing_secret=settings.signing_secret or "",
        process_before_response=False,
        logger=logging.getLogger("tocsin.slack.bolt"),
    )
    register(app, Listeners(actions, SlackPeople(users, client), settings))
    return app


def to_bolt_request(body: bytes, query: str, headers: dict[str, str]) -> AsyncBoltRequest:
    """A Quart request's parts as bolt's request."""
    return AsyncBoltRequest(body=body.decode("utf-8", errors="replace"), query=query, headers=headers)


def to_quart_response(bolt_response: BoltResponse) -> Response:
    """Bolt's response as a Quart response (bolt sets no cookies outside OAuth, which Tocsin does not use)."""
    return Response(
        bolt_response.body,
        status=bolt_response.status,
        headers=bolt_response.first_headers_without_set_cookie(),
    )


def events_blueprint(bolt_app: AsyncApp) -> Blueprint:
    """POST /slack/events: events, interactivity and slash commands, handed to bolt."""
    blueprint = Blueprint("slack", __name__)

    @blueprint.post(EVENTS_PATH)
    async def slack_events() -> Response:
        auth_check(current_app.extensions, request)
        body = await request.get_data(as_text=False)
        headers = {k.lower(): v for k, v in request.headers.items()}
        stamp = headers.get("x-slack-request-timestamp", "0")
        if not (stamp.isascii() and stamp.isdigit()):
            # bolt's verifier would raise on int() of it (a 500); refuse it as bolt refuses a bad signature.
            await auth_failed(current_app.extensions, request, "slack")
            return Response('{"error": "invalid request"}', status=401, content_type="application/json")
        try:
            bolt_request = to_bolt_request(body, request.query_string.decode("latin-1"), headers)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError):
            # bolt parses the body before checking the signature and trusts its shape (a `payload` of JSON
            # null raised AttributeError, a 500): whatever it cannot read is refused as a bad request.
            message = '{"error": {"code": "invalid_payload", "message": "not a Slack request body"}}'
            return Response(message, status=400, content_type="application/json")
        bolt_response = await bolt_app.async_dispatch(bolt_request)
        if bolt_response.status == 401:  # bolt refused the signature (or its timestamp)
            await auth_failed(current_app.extensions, request, "slack")
        return to_quart_response(bolt_response)

    return blueprint


class SocketMode:
    """Socket Mode (SLACK_APP_TOKEN): connect when serving starts, close when it stops."""

    def __init__(self, bolt_app: AsyncApp, settings: SlackSettings) -> None:
        if settings.app_token is None:
            raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
        # apps.connections.open goes through the bolt app's client, so SLACK_API_URL applies here too.
        self.handler = AsyncSocketModeHandler(bolt_app, settings.app_token, web_client=bolt_app.client)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect in the background: the SDK retries until Slack answers, which must not hold up serving."""
        self._task = asyncio.create_task(self._connect(), name="slack-socket-mode")

    async def _connect(self) -> None:
        await self.handler.connect_async()
        log.info("Slack: connected over Socket Mode")

    async def stop(self) -> None:
        """Close the connection (and stop trying to open one)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.handler.close_async()


class SlackTransport:
    """Everything Slack for the composition root: Web API client, delivery channel, bolt app, how events arrive."""

    def __init__(self, settings: SlackSettings, actions: ChatActions, users: Users = ()) -> None:
        directory = Directory(users)
        self.settings = settings
        self.client = make_web_client(settings)
        self.channel = SlackChannel(self.client, settings, names=LiveNames(directory))
        self.bolt = build_bolt_app(settings, actions, directory.users, self.client)
        self.socket: SocketMode | None = None  # made in start(): its aiohttp session needs the running loop

    def blueprint(self) -> Blueprint | None:
        """POST /slack/events, or None in Socket Mode (the route is then not served)."""
        return None if self.settings.socket_mode else events_blueprint(self.bolt)

    async def start(self) -> None:
        """Connect Socket Mode, if used (in the background)."""
        if self.settings.socket_mode:
            self.socket = SocketMode(self.bolt, self.settings)
            await self.socket.start()

    async def stop(self) -> None:
        """Disconnect Socket Mode, if used."""
        if self.socket is not None:
            await self.socket.stop()
