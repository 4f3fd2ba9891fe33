"""Firing claimed work one item per transaction: due escalation steps and notification rules alike."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from store.db import Database
from store.models import Event

log = logging.getLogger(__name__)
T = TypeVar("T")


async def fire_each(
    db: Database,
    claim: Callable[[asyncpg.Connection], Awaitable[T | None]],
    fire: Callable[[asyncpg.Connection, T], Awaitable[Event | None]],
    limit: int,
    what: str,
) -> list[Event]:
    """Claim and fire items until none is due (or `limit` were fired), each in its own transaction; the timeline
    entries written. A large backlog cannot hold a scheduler job forever: the rest waits for the next run."""
    fired: list[Event] = []
    for _ in range(limit):
        async with db.transaction() as conn:
            item = await claim(conn)
            if item is None:
                return fired
            event = await fire(conn, item)
        if event is not None:
            fired.append(event)
    log.warning("%s backlog: fired %d in one call, the rest wait for the next run", what, len(fired))
    return fired
