"""The paging service: each paged person's notification rules, fired one by one until the incident is acknowledged.

An escalation step that pages a user with rules starts a user page (store/escalation.py); each due rule is
claimed with `FOR UPDATE SKIP LOCKED` on the page and its incident row, in the transaction that writes the
rule's timeline entry (from which its message fans out) and moves the page on: a rule fires once across
replicas and restarts, and an acknowledgement (which locks the incident row and stops the pages) either
commits first (the rule sees it and sends nothing) or waits for the rule's commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from store.claims import fire_each
from store.db import Database
from store.domain.config_schema import Config
from store.domain.incident import ActionSource, Status
from store.domain.notify import next_rule, rule_message, rule_target
from store.models import Event, NewEvent
from store.sql import paging as sql
from store.sql.paging import UserPage
from store.timeline import EventKind, record

log = logging.getLogger(__name__)
ACTOR = "scheduler"
SOURCE = ActionSource.SCHEDULER.value
MAX_RULES_PER_CALL = 500


async def start(conn: asyncpg.Connection, incident_id: int, user_ids: Iterable[str], now: datetime) -> None:
    """Start (or restart) these people's notification rules; call inside the escalation step's transaction."""
    for user_id in user_ids:
        await sql.start(conn, incident_id, user_id, now)


async def stop(conn: asyncpg.Connection, incident_id: int, user_id: str | None = None) -> int:
    """Stop the incident's pages (or one person's); call inside the acknowledge or resolve transaction."""
    return await sql.stop(conn, incident_id, user_id)


async def notify_due(db: Database, config: Config, now: datetime) -> list[Event]:
    """Fire every notification rule due at `now`, each in its own transaction; returns the timeline entries."""
    return await fire_each(db, lambda conn: sql.claim_due(conn, now), lambda conn, page: _fire(conn, config, page, now),
                           MAX_RULES_PER_CALL, "paging")


async def _fire(conn: asyncpg.Connection, config: Config, page: UserPage, now: datetime) -> Event | None:
    """Fire the claimed page's next rule if it is still wanted and due; always move the row on."""
    if page.incident_status is not Status.TRIGGERED:
        await sql.finish(conn, page, "stopped", now)
        return None
    user = config.user(page.user_id)
    if user is None or not user.notification_rules:
        log.warning("incident %d: user %r has no notification rules in the config any more; their page stops",
                    page.incident_id, page.user_id)
        await sql.finish(conn, page, "stopped", now)
        return None
    upcoming = next_rule(user.notification_rules, page.started_at, page.fired_count)
    if upcoming is None:
        await sql.finish(conn, page, "done", now)
        return None
    index, rule, due_at = upcoming
    if due_at > now:  # the rules changed since the page started, or it was claimed early
        await sql.advance(conn, page, page.fired_count, due_at, now)
        return None
    data = {"user": user.id, "method": rule.method, "rule": index + 1, "targets": [rule_target(user, rule.method)]}
    (event,) = await record(
        conn, [NewEvent(page.incident_id, EventKind.PAGED, ACTOR, SOURCE, rule_message(user, rule, index + 1), data)]
    )
    following = next_rule(user.notification_rules, page.started_at, index + 1)
    await sql.advance(conn, page, index + 1, following[2] if following else None, now)
    return event


async def pages_of(db: Database, incident_id: int) -> list[UserPage]:
    """The incident's user pages (for tests and diagnostics)."""
    async with db.connection() as conn:
        return await sql.pages_of(conn, incident_id)
