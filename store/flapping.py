"""Flapping groups settle: once a group has been stable for its route's flap_window it stops flapping, and its
open incident, if it still fires and nobody holds it, pages once (store/ingest_quiet.py marks them flapping).

Each group is claimed with FOR UPDATE SKIP LOCKED (its row, then its open incident) in the transaction that
writes the timeline entry and restarts the escalation, so it settles once across replicas.
"""

from __future__ import annotations

from datetime import datetime

from store import escalation
from store.db import Database
from store.domain.config_fields import format_span
from store.domain.config_schema import Config
from store.domain.flapping import settled
from store.domain.incident import ActionSource, Status
from store.models import Event, NewEvent
from store.sql import escalations as escalations_sql
from store.sql import flaps as flaps_sql
from store.sql import incidents as incidents_sql
from store.timeline import EventKind, record

ACTOR = "scheduler"
SOURCE = ActionSource.SCHEDULER.value


async def settle_due(db: Database, config: Config, now: datetime) -> list[Event]:
    """Settle every flapping group stable for its window at `now`; the timeline entries written."""
    async with db.connection() as conn:
        flapping = await flaps_sql.flapping_groups(conn)
    written: list[Event] = []
    for group_key, route_id, last in flapping:
        route = config.routes.by_id(route_id)
        if not settled(last, now, route.flap_window):
            continue
        async with db.transaction() as conn:
            last = await flaps_sql.lock_flapping(conn, group_key)
            if last is None or not settled(last, now, route.flap_window):
                continue  # another replica has it, or it changed meanwhile
            await flaps_sql.settle(conn, group_key, now)
            incident = await flaps_sql.lock_open_incident(conn, group_key)
            if incident is None or not incident.flapping:
                continue
            incident = await incidents_sql.set_quiet(conn, incident.id, maintenance_id=incident.maintenance_id,
                                                     flapping=False, now=now)
            stable = format_span(route.flap_window)
            if incident.status is Status.TRIGGERED and incident.firing_alert_count > 0 and not incident.quiet:
                message, kind = f"Stable for {stable} and still firing: paging now", EventKind.FLAPPING_ENDED
                if not await escalations_sql.restart(conn, incident.id, now) and route.escalation:
                    await escalation.start(conn, incident.id, route.escalation, now)
            else:
                message, kind = f"No longer flapping: stable for {stable}", EventKind.FLAPPING_SETTLED
            written += await record(conn, [NewEvent(incident.id, kind, ACTOR, SOURCE, message)])
    return written
