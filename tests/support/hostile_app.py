"""The whole app (create_app) with Slack, Telegram (webhook mode) and email on their stand-ins, serving on an event
loop in a background thread, so that synchronous hypothesis tests can post to its real HTTP endpoints."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from quart import Quart

from store.domain.config_schema import Config
from store.domain.routing import RouteTable
from tests.support.chat_stack import SLACK_TOKEN, ChatWorld
from tests.support.slack_api import signed_headers
from web.app import create_app
from web.config_loader import default_route
from web.settings import load_settings

WEBHOOK_TOKEN = "hostile-webhook-token"
SIGNING_SECRET = "hostile-signing-secret"
TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TG_SECRET = "hostile-telegram-secret"
MAX_BYTES = 65536
BACKGROUND_WORK = {"run_ack_function_asynchronously"}  # bolt's listeners that run after ack()


class ErrorLog(logging.Handler):
    """Collects ERROR records with a traceback (a crash somewhere, also in background handlers)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.crashes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.crashes.append(self.format(record))


class HostileApp:
    """Post to the app's endpoints from a synchronous test; responses come back as (status, body)."""

    def __init__(self, world: ChatWorld, app: Quart, errors: ErrorLog) -> None:
        self.world = world
        self.app = app
        self.errors = errors
        self.client = app.test_client()

    def settle(self, within: float = 10.0) -> None:
        """Wait (bounded) until the work chat handlers do after answering has finished: Slack's listeners
        (bolt runs them after ack()) and Telegram's queued updates; a crash there is then in the log."""

        async def settled() -> None:
            chat = self.app.extensions["tocsin_chat"]
            waits = [t for t in asyncio.all_tasks() if not t.done() and t is not asyncio.current_task()
                     and getattr(t.get_coro(), "__name__", "") in BACKGROUND_WORK]
            if chat.telegram is not None:
                waits.append(asyncio.ensure_future(chat.telegram.application.update_queue.join()))
            waits += [asyncio.ensure_future(w) for w in chat.background_work()]
            if waits:
                _done, late = await asyncio.wait(waits, timeout=within)
                assert not late, f"chat handlers still busy after {within}s: {late}"

        self.world.background.run(settled(), timeout=within + 5)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST raw bytes."""

        async def send() -> tuple[int, bytes]:
            response = await self.client.post(path, data=body, headers=headers)
            return response.status_code, await response.get_data()

        return self.world.background.run(send())

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """GET a JSON document."""

        async def fetch() -> tuple[int, Any]:
            response = await self.client.get(path, headers=headers or {})
            return response.status_code, await response.get_json()

        return self.world.background.run(fetch())

    def webhook(self, body: bytes) -> tuple[int, bytes]:
        """POST to the Alertmanager webhook with the right token."""
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {WEBHOOK_TOKEN}"}
        return self.post("/api/v1/webhooks/alertmanager", body, headers)

    def slack(self, body: bytes) -> tuple[int, bytes]:
        """POST to /slack/events, signed with the signing secret."""
        return self.post("/slack/events", body, signed_headers(SIGNING_SECRET, body))

    def discord(self, interaction: Any) -> tuple[int, bytes]:
        """POST an interaction to /discord/interactions, signed as Discord signs it."""
        return self.post("/discord/interactions", *self.world.discord.signed(interaction))

    def mattermost_action(self, payload: Any) -> tuple[int, bytes]:
        """POST a button request to /mattermost/actions (the secret is the payload's business)."""
        return self.post("/mattermost/actions", json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def mattermost_command(self, form: bytes) -> tuple[int, bytes]:
        """POST a slash command to /mattermost/command (the token is the form's business)."""
        return self.post("/mattermost/command", form, {"Content-Type": "application/x-www-form-urlencoded"})

    def telegram(self, update: Any) -> tuple[int, bytes]:
        """POST an update to /telegram/webhook with the secret header."""
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        return self.post("/telegram/webhook", json.dumps(update).encode(), headers)


@contextmanager
def hostile_app(database_url: str, **env: str) -> Iterator[HostileApp]:
    """The app serving (pool, delivery worker, bots started) on its stand-ins until the block ends."""
    world = ChatWorld().start()
    settings = load_settings({
        "DATABASE_URL": database_url, "WEBHOOK_TOKEN": WEBHOOK_TOKEN, "WEBHOOK_MAX_BYTES": str(MAX_BYTES),
        "PUBLIC_URL": "https://tocsin.example", "ALERTMANAGER_URL": "http://127.0.0.1:9",
        "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_CHANNEL": "C0OPS",
        "SLACK_API_URL": world.slack.api_url, "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "TELEGRAM_CHAT_ID": "-1001", "TELEGRAM_API_URL": world.telegram.url, "EMAIL_SMTP_HOST": "127.0.0.1",
        "EMAIL_SMTP_PORT": str(world.smtp.port), "EMAIL_TLS": "none", "EMAIL_FROM": "tocsin@example.com",
        "EMAIL_TO": "ops@example.com", "ANONYMOUS_READ": "true", "DELIVERY_RETRY_BASE": "200ms",
        "DELIVERY_RETRY_CAP": "1s",
        # Forged signatures and secrets are part of the fuzz: the throttle must not turn the rest into 429s.
        "AUTH_FAILURE_LIMIT": "10000", **world.env(), **env,
    })
    # The fuzz acts as chat members who are no config users: let them act, so their input reaches the store.
    config = Config(routes=RouteTable(default=default_route(settings)), chat_strangers="act")
    app = create_app(settings, database_url, config=config)
    serving = app.test_app()
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    try:
        world.background.run(serving.__aenter__(), timeout=60)
        try:
            yield HostileApp(world, app, errors)
        finally:
            world.background.run(serving.__aexit__(None, None, None), timeout=60)
    finally:
        logging.getLogger().removeHandler(errors)
        world.stop()
