"""Thin jobs: each calls store services and reports through callables the composition root hands in."""

from __future__ import annotations

import logging
from collections.abc import Callable

from store import deliveries
from store.db import Database
from store.domain.delivery import RetryPolicy

log = logging.getLogger(__name__)


async def sweep_deliveries(
    db: Database,
    policy: RetryPolicy,
    wake: Callable[[], None],
    report: Callable[[dict[str, dict[str, int]]], None],
) -> None:
    """Give up overdue messages, publish the outbox counts, and wake the worker in case a NOTIFY was missed."""
    failed = await deliveries.give_up_overdue(db, policy)
    if failed:
        log.warning("%d message(s) not delivered within DELIVERY_GIVE_UP were marked failed", failed)
    report(await deliveries.counts(db))
    wake()
