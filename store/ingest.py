"""The ingest service: an Alertmanager batch becomes alerts and incidents in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from store import escalation, templates
from store.db import Database
from store.domain.alerts import AlertBatch, AlertSignal, SkippedAlert
from store.domain.delivery import channels_for
from store.domain.grouping import AlertFacts, derive_fields, group_key_for, group_labels_for
from store.domain.incident import ActionSource, Status
from store.domain.routing import Route, RouteTable
from store.models import Alert, Incident, NewEvent
from store.sql import alerts as alerts_sql
from store.sql import incidents as incidents_sql
from store.timeline import EventKind, record

log = logging.getLogger(__name__)
ACTOR = "alertmanager"
SOURCE = ActionSource.ALERTMANAGER.value
# Concurrent writers of one group can race (a unique index or a deadlock says so); the whole
# transaction is idempotent, so it is simply run again.
RETRYABLE = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
MAX_ATTEMPTS = 5


@dataclass(slots=True)
class IngestResult:
    """Which incidents the batch touched and which alerts were skipped."""

    incident_ids: list[int] = field(default_factory=list)
    skipped: list[SkippedAlert] = field(default_factory=list)
    alerts_stored: int = 0


@dataclass(slots=True)
class _Group:
    route: Route
    group_labels: dict[str, str]
    channels: dict[str, Any]
    alerts: list[AlertSignal] = field(default_factory=list)


def _identity(alert: AlertSignal) -> tuple[str, datetime]:
    return alert.fingerprint, alert.starts_at


def _split_into_groups(batch: AlertBatch, routes: RouteTable) -> dict[str, _Group]:
    unique: dict[tuple[str, datetime], AlertSignal] = {}
    for alert in batch.alerts:
        unique[_identity(alert)] = alert  # a repeat within one body: the last one wins
    groups: dict[str, _Group] = {}
    for alert in sorted(unique.values(), key=_identity):
        route = routes.route_for(alert.labels)
        key = group_key_for(route, alert, batch.group_key)
        if key not in groups:
            labels = group_labels_for(route, alert, batch.group_labels)
            groups[key] = _Group(route, labels, channels_for(route, routes.default))
        groups[key].alerts.append(alert)
    return groups


async def ingest_batch(
    db: Database, batch: AlertBatch, routes: RouteTable, clock: Callable[[], datetime] | None = None
) -> IngestResult:
    """Store a batch: one transaction, retried as a whole when concurrent writers collide."""
    groups = _split_into_groups(batch, routes)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        now = (clock or (lambda: datetime.now(UTC)))()
        result = IngestResult(skipped=list(batch.skipped))
        try:
            async with db.transaction(stateless=True) as conn:
                for key in sorted(groups):
                    await _ingest_group(conn, key, groups[key], batch, now, result)
            return result
        except RETRYABLE as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            log.debug("ingest collided with a concurrent writer (%s), retrying", type(exc).__name__)
            await asyncio.sleep(0.005 * attempt)
    raise AssertionError("unreachable")


async def _ingest_group(
    conn: asyncpg.Connection, key: str, group: _Group, batch: AlertBatch, now: datetime, result: IngestResult
) -> None:
    events: list[NewEvent] = []
    held: dict[int, Incident] = {}  # incidents this transaction has locked and not changed since
    opened_now = False
    if any(a.firing for a in group.alerts):
        incident, opened_now = await _open_incident_for(conn, key, group, batch, now, events)
        held[incident.id] = incident
        targets = {incident.id: group.alerts}
    else:
        targets = await _targets_of_resolved_only(conn, key, group, result)
    for incident_id, alerts in targets.items():
        known, older_firing = _split_instances(await alerts_sql.lock_instances(conn, alerts), alerts)
        events += _alert_change_events(incident_id, alerts, known)
        may_supersede = bool(older_firing) or _has_repeated_fingerprint(alerts)
        incident = held.get(incident_id)
        facts: list[AlertFacts] | None = None
        refresh = True
        if opened_now and not known and not may_supersede:
            # A brand-new incident holds exactly this batch's alerts, inserted in list order.
            await alerts_sql.upsert(conn, incident_id, alerts, now)
            facts = [_facts(a) for a in alerts]
        elif may_supersede or not _all_repeats(incident_id, alerts, known, incident, batch.external_url):
            if may_supersede:
                await alerts_sql.upsert(conn, incident_id, alerts, now)  # facts are read after superseding
            else:
                facts = await alerts_sql.upsert_returning_facts(conn, incident_id, alerts, now)
        else:
            await alerts_sql.upsert(conn, incident_id, alerts, now)  # repeats: the fields cannot change
            refresh = False
        superseded = await alerts_sql.resolve_superseded(conn, alerts, now) if may_supersede else []
        events += [_superseded_event(a) for a in superseded]
        # Incidents that lost an alert to this one, or whose alert was superseded, change too.
        touched = {a.incident_id for a in superseded} | ({a.incident_id for a in known.values()} - {incident_id})
        if refresh or incident_id in {a.incident_id for a in superseded}:
            touched.add(incident_id)
        for touched_id in sorted(touched):
            given = facts if touched_id == incident_id else None
            events += await _refresh_incident(conn, touched_id, held.get(touched_id), given, batch.external_url, now)
        result.alerts_stored += len(alerts)
        if incident_id not in result.incident_ids:
            result.incident_ids.append(incident_id)
    await record(conn, events)


def _split_instances(
    rows: list[Alert], alerts: list[AlertSignal]
) -> tuple[dict[tuple[str, datetime], Alert], list[Alert]]:
    """Stored rows of the batch's identities, and older instances that are still firing (to supersede)."""
    wanted = {_identity(a) for a in alerts}
    newest: dict[str, datetime] = {}
    for alert in alerts:
        newest[alert.fingerprint] = max(alert.starts_at, newest.get(alert.fingerprint, alert.starts_at))
    known = {_identity(r): r for r in rows if _identity(r) in wanted}
    older = [
        r for r in rows
        if _identity(r) not in wanted and r.status == "firing" and r.starts_at < newest[r.fingerprint]
    ]
    return known, older


def _has_repeated_fingerprint(alerts: list[AlertSignal]) -> bool:
    return len({a.fingerprint for a in alerts}) < len(alerts)


def _all_repeats(
    incident_id: int,
    alerts: list[AlertSignal],
    known: dict[tuple[str, datetime], Alert],
    incident: Incident | None,
    external_url: str,
) -> bool:
    """True when the batch changes nothing the incident's fields are derived from (so they stay as they are)."""
    if incident is None or (external_url and external_url != incident.external_url):
        return False
    if incident.auto_resolve and incident.status is not Status.RESOLVED and incident.firing_alert_count == 0:
        return False  # let the refresh apply auto-resolve
    for alert in alerts:
        before = known.get(_identity(alert))
        if before is None or before.incident_id != incident_id or before.status != alert.status:
            return False
        if (before.labels, before.annotations, before.generator_url) != (
            alert.labels, alert.annotations, alert.generator_url
        ):
            return False
    return True


def _facts(alert: AlertSignal) -> AlertFacts:
    return AlertFacts(alert.status, alert.labels, alert.annotations, alert.generator_url)


async def _open_incident_for(
    conn: asyncpg.Connection, key: str, group: _Group, batch: AlertBatch, now: datetime, events: list[NewEvent]
) -> tuple[Incident, bool]:
    """The group's open incident (locked): the current one, a recently resolved one reopened, or a new one.

    The flag says whether the incident was inserted by this call.
    """
    while True:
        incident = await incidents_sql.lock_open_or_recent(conn, key, now - group.route.reopen_within)
        if incident is not None and incident.status is not Status.RESOLVED:
            return incident, False
        if incident is not None:
            incident = await incidents_sql.reopen(conn, incident.id, now)
            events.append(NewEvent(incident.id, EventKind.REOPENED, ACTOR, SOURCE, "Reopened: an alert fired again"))
            if group.route.escalation:
                await escalation.start(conn, incident.id, group.route.escalation, now)
            return incident, False
        first = group.alerts[0]
        incident = await incidents_sql.insert_open(
            conn,
            group_key=key,
            route_id=group.route.id,
            source=SOURCE,
            title=first.labels.get("alertname", "Alert"),
            severity="warning",
            group_labels=group.group_labels,
            external_url=batch.external_url,
            auto_resolve=group.route.auto_resolve,
            now=now,
            channels=group.channels,
        )
        if incident is not None:
            events.append(NewEvent(incident.id, EventKind.OPENED, ACTOR, SOURCE, "Opened by Alertmanager"))
            if group.route.template is not None:  # the route's response template: checklist and runbooks
                events.append(await templates.apply(conn, incident.id, group.route.template, ACTOR, SOURCE, now))
            if group.route.escalation:
                await escalation.start(conn, incident.id, group.route.escalation, now)
            return incident, True
        # Another writer opened it between our look and our insert: look again (and wait for its lock).


async def _targets_of_resolved_only(
    conn: asyncpg.Connection, key: str, group: _Group, result: IngestResult
) -> dict[int, list[AlertSignal]]:
    """Resolved alerts only: apply them to the incidents that hold them (or the open one)."""
    known, _ = _split_instances(await alerts_sql.lock_instances(conn, group.alerts), group.alerts)
    open_incident = await incidents_sql.lock_open_in_group(conn, key)
    targets: dict[int, list[AlertSignal]] = {}
    for alert in group.alerts:
        stored = known.get(_identity(alert))
        incident_id = stored.incident_id if stored else (open_incident.id if open_incident else None)
        if incident_id is None:
            result.skipped.append(SkippedAlert(-1, f"resolved alert {alert.fingerprint} belongs to no incident"))
            continue
        targets.setdefault(incident_id, []).append(alert)
    return targets


def _describe(alert: AlertSignal | Alert) -> str:
    name = alert.labels.get("alertname", alert.fingerprint)
    instance = alert.labels.get("instance")
    return f"{name} on {instance}" if instance else name


def _alert_change_events(
    incident_id: int, alerts: list[AlertSignal], known: dict[tuple[str, datetime], Alert]
) -> list[NewEvent]:
    events = []
    for alert in alerts:
        before = known.get(_identity(alert))
        if before is not None and before.status == alert.status and before.incident_id == incident_id:
            continue  # a repeat: nothing changed
        kind = EventKind.ALERT_FIRING if alert.firing else EventKind.ALERT_RESOLVED
        verb = "firing" if alert.firing else "resolved"
        data = {"fingerprint": alert.fingerprint, "starts_at": alert.starts_at.isoformat()}
        events.append(NewEvent(incident_id, kind, ACTOR, SOURCE, f"Alert {verb}: {_describe(alert)}", data))
    return events


def _superseded_event(alert: Alert) -> NewEvent:
    data = {"fingerprint": alert.fingerprint, "starts_at": alert.starts_at.isoformat()}
    message = f"Alert resolved: {_describe(alert)} (replaced by a newer instance)"
    return NewEvent(alert.incident_id, EventKind.ALERT_SUPERSEDED, ACTOR, SOURCE, message, data)


async def _refresh_incident(
    conn: asyncpg.Connection,
    incident_id: int,
    held: Incident | None,
    facts: list[AlertFacts] | None,
    external_url: str,
    now: datetime,
) -> list[NewEvent]:
    """Recompute the incident's fields from its alerts; resolve it when none fires (auto_resolve).

    `held` is the incident when this transaction already locked it; `facts` its alerts when already known.
    """
    incident = held or await incidents_sql.get(conn, incident_id, for_update=True)
    if facts is None:
        facts = await alerts_sql.facts_of_incident(conn, incident_id)
    fields = derive_fields(facts, incident.group_labels, external_url)
    await incidents_sql.apply_fields(conn, incident_id, fields, external_url, now)
    if fields.firing_count == 0 and incident.auto_resolve and incident.status is not Status.RESOLVED:
        await incidents_sql.set_status(conn, incident_id, Status.RESOLVED.value, ACTOR, now)
        return [NewEvent(incident_id, EventKind.RESOLVED, ACTOR, SOURCE, "Resolved: every alert has resolved")]
    return []
