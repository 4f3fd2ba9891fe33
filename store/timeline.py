"""Recording changes: every service writes its timeline entries through here, in its own transaction.

This is the one place where a change fans out: the entries are written, and PostgreSQL is asked to
NOTIFY listeners (delivery workers, dashboard streams on every replica) once the transaction commits.
"""

from __future__ import annotations

import asyncpg

from store import deliveries
from store.models import Event, NewEvent
from store.sql import events as events_sql


class EventKind:
    """The kinds of timeline entry."""

    OPENED = "opened"
    REOPENED = "reopened"
    ALERT_FIRING = "alert_firing"
    ALERT_RESOLVED = "alert_resolved"
    ALERT_SUPERSEDED = "alert_superseded"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    NOTE = "note"
    SILENCED = "silenced"
    ESCALATED = "escalated"
    SLA_BREACHED = "sla_breached"
    TEMPLATE_APPLIED = "template_applied"
    CHECKLIST = "checklist"
    POSTMORTEM_SAVED = "postmortem_saved"
    POSTMORTEM_PUBLISHED = "postmortem_published"
    TICKET = "ticket"  # an issue was opened for the incident in another system (Jira)
    PAGED = "paged"  # one of a person's notification rules fired
    ESCALATION_REQUESTED = "escalation_requested"  # a paged person asked for the next step now (voice: 3)
    UNACKNOWLEDGED = "unacknowledged"
    REASSIGNED = "reassigned"
    SNOOZED = "snoozed"
    ACK_LAPSED = "ack_lapsed"
    REMINDER = "reminder"
    MAINTENANCE_ENDED = "maintenance_ended"  # its window ended while it still fires: it pages now
    MAINTENANCE_LEFT = "maintenance_left"  # out of its window, nothing to page for
    FLAPPING = "flapping"
    FLAPPING_ENDED = "flapping_ended"  # stable again while it still fires: it pages now
    FLAPPING_SETTLED = "flapping_settled"  # stable again, nothing to page for


async def record(conn: asyncpg.Connection, events: list[NewEvent]) -> list[Event]:
    """Write the entries, queue the messages they cause (outbox) and the after-commit notification."""
    if not events:
        return []
    stored = await events_sql.insert_and_notify(conn, events)
    await deliveries.enqueue(conn, stored)
    return stored
