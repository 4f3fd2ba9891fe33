"""The delivery outbox service: queue messages with the events that cause them, claim, settle, count.

A stream is an incident's messages to one channel target (an address, a Slack channel, a chat). Per stream:
one open message, then updates that edit or reply to it, sent one at a time and never before the open.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg

from store.db import Database
from store.domain.delivery import (
    OPEN,
    STOP_EVENTS,
    STOPPED_BY_ACK,
    UPDATE,
    RetryPolicy,
    absorbs_updates,
    notifies,
    page_targets,
    retry_delay,
    targets_of,
)
from store.models import Delivery, Event, Incident
from store.sql import deliveries as sql
from store.sql import events as events_sql
from store.sql import incidents as incidents_sql
from store.sql import templates as templates_sql
from store.sql.deliveries import NewDelivery

log = logging.getLogger(__name__)
RECENT_EVENTS = 50


async def enqueue(conn: asyncpg.Connection, events: Sequence[Event]) -> None:
    """Queue (or coalesce into waiting ones) the messages these just-recorded events cause, in their transaction."""
    by_incident: dict[int, list[Event]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e.id):
        by_incident[event.incident_id].append(event)
    known = await sql.channels_and_opens(conn, sorted(by_incident))
    opens: list[NewDelivery] = []
    bumps: list[tuple[int, NewDelivery]] = []
    updates: list[NewDelivery] = []
    for incident_id, incident_events in by_incident.items():
        channels, live_opens, quiet = known.get(incident_id, ({}, {}, False))
        for channel, target, relevant in _streams(channels, incident_events, live_opens, quiet):
            if not relevant:
                continue
            item = NewDelivery(incident_id, channel, target, relevant[0].id, relevant[-1].id, relevant[-1].kind)
            live = live_opens.get((channel, target))
            if live is None:
                opens.append(item)
            elif live.open_state == "pending" and absorbs_updates(channel):
                bumps.append((live.open_id or 0, item))
            else:
                updates.append(item)
    queued = await sql.insert_opens(conn, opens)
    updates += [d for d in opens if (d.incident_id, d.channel, d.target) not in queued]
    bumped = await sql.bump_pending(conn, [i for i, _ in bumps], [d for _, d in bumps])
    updates += [d for i, d in bumps if i not in bumped]  # claimed meanwhile: its message may predate these
    await sql.upsert_updates(conn, updates)


async def enqueue_announcement(
    conn: asyncpg.Connection, announcement_id: int, targets: Sequence[tuple[str, str]]
) -> None:
    """Queue a handoff announcement to each (channel, target), in the transaction that records it."""
    await sql.insert_announcements(conn, announcement_id, "handoff", list(targets))


def _streams(
    channels: dict[str, Any], events: list[Event], live: Iterable[tuple[str, str]] = (), quiet: bool = False
) -> list[tuple[str, str, list[Event]]]:
    """Each (channel, target) these events reach, with the events that reach it: the incident's channels
    hear what `notifies` says; a page also reaches the people and channels it pages; a paged stream that must
    be told to stop (STOPPED_BY_ACK) hears the acknowledgement and resolution."""
    streams: dict[tuple[str, str], list[Event]] = {}
    for channel, target in live:
        if channel in STOPPED_BY_ACK:
            streams[(channel, target)] = [e for e in events if e.kind in STOP_EVENTS]
    for channel, target in targets_of(channels):
        streams[(channel, target)] = [e for e in events if notifies(channel, e.kind, channels[channel], quiet)]
    for event in events:
        for pair in page_targets(event.kind, event.data):
            paged = streams.setdefault(pair, [])
            if event not in paged:
                paged.append(event)
    return [(channel, target, sorted(found, key=lambda e: e.id)) for (channel, target), found in streams.items()]


async def claim(db: Database, channels: Sequence[str], limit: int, lease: float) -> list[Delivery]:
    """Claim due messages of these channels for `lease` seconds (FOR UPDATE SKIP LOCKED)."""
    if not channels:
        return []
    async with db.transaction() as conn:
        await sql.lock_claims(conn)
        return await sql.claim(conn, list(channels), limit, lease)


async def mark_sent(db: Database, delivery: Delivery, external_ref: str | None) -> bool:
    """Record a send; False when this worker's claim had expired and was taken over."""
    async with db.transaction() as conn:
        done = await sql.mark_sent(conn, delivery.id, delivery.claim_token, external_ref)
    if not done:
        log.warning("delivery %s was sent after its lease expired; another worker may send it again", delivery.id)
    return done


async def release(db: Database, claimed: Sequence[Delivery]) -> int:
    """Give back claims whose sends were abandoned (shutdown), so another worker takes them now, not after the lease."""
    if not claimed:
        return 0
    async with db.transaction() as conn:
        released = await sql.release(conn, [d.id for d in claimed], [d.claim_token for d in claimed])
        if released:  # wake the other replicas' workers now rather than at their next sweep
            await events_sql.notify(conn, [], ["deliveries_released"])
    return released


async def mark_retry(
    db: Database, delivery: Delivery, error: str, policy: RetryPolicy, retry_after: float | None = None
) -> str:
    """Schedule another attempt with backoff (or Retry-After), or fail it past the give-up time; the new state."""
    delay = retry_delay(delivery.attempts, policy, retry_after)
    async with db.transaction() as conn:
        row = await sql.lock_claimed(conn, delivery.id, delivery.claim_token)
        if row is None:
            return "lost"
        left = policy.give_up - (row["now"] - row["created_at"]).total_seconds()
        if left <= 0 or (retry_after is not None and retry_after > left):
            await sql.fail(conn, delivery.id, error)
            if row["kind"] == OPEN:
                await sql.fail_orphan_updates(conn, row["incident_id"])
            return "failed"
        delay = min(delay, left)  # one last attempt at the give-up time
        newer = None
        if row["kind"] == UPDATE:
            newer = await sql.lock_pending_update(conn, row["incident_id"], row["channel"], row["target"])
        if newer is not None:
            await sql.merge_into(conn, row, newer, delay, error)
        else:
            await sql.reschedule(conn, delivery.id, delay, error)
        return "pending"


async def give_up_overdue(db: Database, policy: RetryPolicy) -> int:
    """Fail messages still unsent after the give-up time; returns how many."""
    async with db.transaction() as conn:
        return await sql.fail_overdue(conn, policy.give_up)


async def seconds_until_due(db: Database, channels: Sequence[str]) -> float | None:
    """When the next waiting message becomes due (None: nothing waits)."""
    async with db.connection() as conn:
        return await sql.seconds_until_due(conn, list(channels))


async def load_for_send(db: Database, delivery: Delivery) -> tuple[Incident, list[Event]]:
    """The incident as it stands (with its checklist) and its latest timeline entries, to render the message from."""
    async with db.connection() as conn:
        incident = await incidents_sql.get(conn, delivery.incident_id)
        events = await events_sql.latest_for_incident(conn, delivery.incident_id, RECENT_EVENTS)
        checklist = await templates_sql.checklist(conn, delivery.incident_id)
    return replace(incident, checklist=tuple(checklist)), events


async def events_of(db: Database, delivery: Delivery, kinds: Sequence[str]) -> list[Event]:
    """Every timeline entry of these kinds that the delivery reports (first_event_id to event_id), oldest first:
    for channels that tell each change on its own, however many a burst coalesced."""
    if delivery.incident_id is None or delivery.event_id is None:
        return []
    async with db.connection() as conn:
        first = delivery.first_event_id or delivery.event_id
        return await events_sql.between(conn, delivery.incident_id, first, delivery.event_id, list(kinds))


async def load_announcement(db: Database, delivery: Delivery) -> str:
    """The text an announcement delivery posts."""
    async with db.connection() as conn:
        text = await sql.announcement_text(conn, delivery.announcement_id or 0)
    if text is None:  # the row's foreign key makes this impossible short of manual deletes
        raise LookupError(f"announcement {delivery.announcement_id} of delivery {delivery.id} is gone")
    return text


async def counts(db: Database) -> dict[str, dict[str, int]]:
    """Unsent messages per channel and state: {"email": {"pending": 2, "failed": 1}}."""
    async with db.connection() as conn:
        return await sql.counts(conn)


async def status_of(conn: asyncpg.Connection, incident_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each incident's delivery status per channel, for its API representation.

    {id: {"email": {"state": "sent", "targets": [{"target", "state", "attempts", "failed", "last_error",
    "sent_at", "reference"}]}}}; a channel's state is failed if a target's latest message failed, else pending while
    one is unsent, else sent.
    """
    ids = list(incident_ids)
    latest = await sql.latest_per_target(conn, ids)
    failed = await sql.failed_per_target(conn, ids)
    result: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for d in latest:
        state = "pending" if d.state == "sending" else d.state
        channel = result[d.incident_id].setdefault(d.channel, {"state": "sent", "targets": []})
        channel["targets"].append(
            {
                "target": d.target,
                "state": state,
                "attempts": d.attempts,
                "failed": failed.get((d.incident_id, d.channel, d.target), 0),
                "last_error": d.last_error,
                "sent_at": d.sent_at,
                "reference": d.external_ref,  # what the service answered: a message id, an issue key, an HTTP status
            }
        )
        if state == "failed" or (state == "pending" and channel["state"] == "sent"):
            channel["state"] = state
    return result
