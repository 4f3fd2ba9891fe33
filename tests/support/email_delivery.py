"""Email settings and a quick-retrying delivery worker for tests against the loopback SMTP sink."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.delivery import ChannelRegistry, DeliveryWorker, WorkerSettings
from bot.email.client import EmailChannel
from bot.email.settings import EmailSettings
from store.db import Database
from store.domain.delivery import RetryPolicy
from tests.support.smtp import SmtpSink

FAST = WorkerSettings(retry=RetryPolicy(base=0.05, cap=0.3, give_up=3600), send_timeout=5, lease=10, idle_poll=1)
PUBLIC = "https://tocsin.example"


def email_settings(port: int, tls: str = "none", **kwargs: object) -> EmailSettings:
    """Email to the sink on 127.0.0.1:port."""
    return EmailSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        from_addr="Tocsin <tocsin@example.com>",
        tls=tls,
        public_url=PUBLIC,
        timeout=5,
        **kwargs,
    )  # type: ignore[arg-type]


async def started(db: Database, channel: EmailChannel, name: str = "") -> DeliveryWorker:
    """A running delivery worker with only this email channel."""
    worker = DeliveryWorker(db, ChannelRegistry([channel]), FAST, name=name)
    await worker.start()
    return worker


@asynccontextmanager
async def mail_stack(
    db: Database, sink: SmtpSink, make_channel: Callable[[int], EmailChannel]
) -> AsyncIterator[DeliveryWorker]:
    """The sink started, and a worker sending through the channel made for its port; both stopped after."""
    port = await sink.start()
    try:
        worker = await started(db, make_channel(port))
        try:
            yield worker
        finally:
            await worker.stop()
    finally:
        await sink.stop()
