"""The paging providers' stand-ins (ntfy, Pushover, Twilio), Tocsin's paging transport on them with a real
delivery worker, and a small app serving the paging webhooks and link page, for integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from quart import Quart
from quart.typing import TestClientProtocol

from bot.delivery import ChannelRegistry, DeliveryWorker, WorkerSettings
from bot.paging.app import PagingTransport
from bot.paging.settings import NtfySettings, PagingSettings, PushoverSettings, TwilioSettings
from store.db import Database
from store.domain.config_schema import Config
from store.domain.delivery import RetryPolicy
from store.runtime import Runtime
from tests.support import ntfy_api, pushover_api, twilio_api
from tests.support.ntfy_api import NtfyApi
from tests.support.paging import LINK_KEY
from tests.support.pushover_api import PushoverApi
from tests.support.twilio_api import TwilioApi, signed

PUBLIC = "https://tocsin.example"
FAST = WorkerSettings(retry=RetryPolicy(base=0.05, cap=0.3, give_up=3600), send_timeout=5, lease=10, idle_poll=1,
                      stop_grace=0.5)


@dataclass
class PagingWorld:
    """What a paging test drives: the stand-ins, the worker, the app's test client and the runtime."""

    ntfy: NtfyApi
    pushover: PushoverApi
    twilio: TwilioApi
    worker: DeliveryWorker
    client: TestClientProtocol
    runtime: Runtime

    async def post_signed(self, path: str, form: dict[str, str], token: str = twilio_api.AUTH_TOKEN) -> Any:
        """POST a form to the app as Twilio does, signed for PUBLIC_URL + path."""
        return await self.client.post(path, form=form, headers=signed(PUBLIC + path, form, token))

    @staticmethod
    def local(url: str) -> str:
        """A PUBLIC_URL link as a path (and query) of the test app."""
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def paging_settings(ntfy: NtfyApi, pushover: PushoverApi, twilio: TwilioApi) -> PagingSettings:
    """Every provider on, pointed at its stand-in."""
    return PagingSettings(
        ntfy=NtfySettings(ntfy.url, ntfy_api.TOKEN),
        pushover=PushoverSettings(pushover_api.APP_TOKEN, pushover.url),
        twilio=TwilioSettings(twilio_api.ACCOUNT_SID, twilio_api.AUTH_TOKEN, twilio_api.FROM, twilio.url),
        link_key=LINK_KEY,
        public_url=PUBLIC,
    )


@asynccontextmanager
async def paging_world(db: Database, config: Config, clock: Callable[[], datetime]) -> AsyncIterator[PagingWorld]:
    """Stand-ins, transport, worker and app, all stopped after the block."""
    ntfy, pushover, twilio = NtfyApi(), PushoverApi(), TwilioApi()
    for standin in (ntfy, pushover, twilio):
        await standin.start()
    runtime = Runtime(db=db, config=config, clock=clock)
    transport = PagingTransport(paging_settings(ntfy, pushover, twilio), lambda: runtime, config.users)
    worker = DeliveryWorker(db, ChannelRegistry(transport.channels()), FAST)
    app = Quart("paging-test")
    for blueprint in transport.blueprints():
        app.register_blueprint(blueprint)
    await worker.start()
    try:
        yield PagingWorld(ntfy, pushover, twilio, worker, app.test_client(), runtime)
    finally:
        await worker.stop()
        await transport.stop()
        for standin in (ntfy, pushover, twilio):
            await standin.stop()
