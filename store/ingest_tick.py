"""One ingest transaction: the groups of one or more batches written with a handful of set-based statements."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from store import escalation
from store.domain.alerts import AlertSignal, SkippedAlert
from store.domain.batching import Group, Identity, Item, identity
from store.domain.config_fields import format_span
from store.domain.derived import AlertView, Change, Derived, Needs, apply, full, with_lookups
from store.domain.flapping import describe as describe_flapping
from store.domain.grouping import IncidentFields, fields_of
from store.domain.incident import ActionSource, Status
from store.domain.maintenance import Window
from store.domain.routing import RouteTable
from store.ingest_quiet import Quiet
from store.models import Incident, NewEvent
from store.sql import alerts as alerts_sql
from store.sql import escalations as escalations_sql
from store.sql import incidents as incidents_sql
from store.sql.alerts import Stored
from store.sql.incidents import Held
from store.timeline import EventKind, record

ACTOR = "alertmanager"
SOURCE = ActionSource.ALERTMANAGER.value
OPEN_ONLY = timedelta(days=365 * 100)  # a "reopen since" so far ahead that only open incidents match


class Stale(Exception):
    """An incident this transaction attaches firing alerts to was resolved meanwhile: run it again."""


@dataclass(slots=True)
class IngestResult:
    """Which incidents a batch touched and which alerts were skipped."""

    incident_ids: list[int] = field(default_factory=list)
    skipped: list[SkippedAlert] = field(default_factory=list)
    alerts_stored: int = 0


def _describe(alert: AlertSignal | Stored) -> str:
    name = alert.labels.get("alertname", alert.fingerprint)
    instance = alert.labels.get("instance")
    return f"{name} on {instance}" if instance else name


def _alert_event(incident_id: int, alert: AlertSignal, superseded: bool) -> NewEvent:
    data = {"fingerprint": alert.fingerprint, "starts_at": alert.starts_at.isoformat()}
    if superseded:
        message = f"Alert resolved: {_describe(alert)} (replaced by a newer instance)"
        return NewEvent(incident_id, EventKind.ALERT_SUPERSEDED, ACTOR, SOURCE, message, data)
    kind, verb = (EventKind.ALERT_FIRING, "firing") if alert.firing else (EventKind.ALERT_RESOLVED, "resolved")
    return NewEvent(incident_id, kind, ACTOR, SOURCE, f"Alert {verb}: {_describe(alert)}", data)


def _same_content(stored: Stored, alert: AlertSignal) -> bool:
    return (stored.status, stored.labels, stored.annotations, stored.generator_url) == (
        alert.status, alert.labels, alert.annotations, alert.generator_url
    )


class Tick:
    """The work of one transaction; `run()` once."""

    def __init__(
        self, conn: asyncpg.Connection, groups: dict[str, Group], now: datetime, results: list,
        routes: RouteTable | None = None,
    ) -> None:
        self.conn, self.groups, self.now, self.results = conn, groups, now, results
        self.routes = routes or RouteTable()
        self.quiet = Quiet(self.routes.windows, now)
        self.held: dict[int, Held] = {}
        self.target: dict[str, int] = {}  # group key -> the incident its alerts go to
        self.opened: set[int] = set()  # incidents inserted by this transaction (their summary starts empty)
        self.firing_into: set[int] = set()  # incidents firing alerts go to: they must still be open at the end
        self.external_url: dict[int, str] = {}
        self.changes: dict[int, list[Change]] = defaultdict(list)
        self.events: list[NewEvent] = []
        # (incident, policy, how): "start" a new one, "resume" a reopened one, "hold" a quiet one's
        self.escalations: list[tuple[int, str, str]] = []

    async def run(self) -> None:
        """Find or open the incidents, write the alerts, fold the changes into the incidents, record."""
        await self.quiet.load(self.conn, list(self.groups.values()))
        await self._incidents_for_groups()
        await self._write_alerts([(g, item) for g in self.groups.values() for item in g.items.values()])
        for incident_id in sorted(self._incidents_to_refresh()):
            await self._refresh(incident_id)
        await record(self.conn, self.events)

    async def _incidents_for_groups(self) -> None:
        keys = sorted(self.groups)
        since = [self.now - self.groups[k].route.reopen_within if self.groups[k].firing else self.now + OPEN_ONLY
                 for k in keys]
        found = await incidents_sql.find_for_groups(self.conn, keys, since)
        for key in keys:
            group, held = self.groups[key], found.get(key)
            if group.firing:
                held = await self._open_incident(group, held)
                self.firing_into.add(held.incident.id)
            elif held is None or held.incident.status is Status.RESOLVED:
                continue  # resolved alerts only: they go to whichever incident holds them
            self.held[held.incident.id] = held
            self.target[key] = held.incident.id
            self.external_url[held.incident.id] = group.external_url

    async def _open_incident(self, group: Group, held: Held | None) -> Held:
        """The group's open incident: the one found, a recently resolved one reopened, or a new one."""
        window = self.quiet.window(group)
        while True:
            if held is not None and held.incident.status is not Status.RESOLVED:
                self.quiet.keep_or_release(held.incident.id, held.incident.maintenance_id, window)
                return held
            in_window = window.id if window else None
            if held is not None:
                held = await incidents_sql.reopen(self.conn, held.incident.id, self.now, in_window)
                within = format_span(group.route.reopen_within)
                message = f"Reopened without paging: an alert fired again within {within} of resolving"
                await self._started(held, EventKind.REOPENED, message, group, window)
                return held
            first = next(iter(group.items.values())).alert
            held = await incidents_sql.insert_open(
                self.conn, group_key=group.key, route_id=group.route.id, source=SOURCE,
                title=first.labels.get("alertname", "Alert"), severity="warning", group_labels=group.group_labels,
                external_url=group.external_url, auto_resolve=group.route.auto_resolve, now=self.now,
                channels=group.channels, maintenance_id=in_window,
            )
            if held is not None:
                self.opened.add(held.incident.id)
                await self._started(held, EventKind.OPENED, "Opened by Alertmanager", group, window)
                return held
            # Another writer opened it between our look and our insert (the insert waited for its commit).
            since = self.now - group.route.reopen_within
            held = (await incidents_sql.find_for_groups(self.conn, [group.key], [since])).get(group.key)

    async def _started(self, held: Held, kind: str, message: str, group: Group, window: Window | None) -> None:
        """An opening or reopening: count it, say so, and start, resume or hold the escalation."""
        incident_id = held.incident.id
        flaps = await self.quiet.changed(self.conn, incident_id, group.key, group.route)
        if window is not None:
            message += f", in maintenance window {window.id}: no pages until it ends"
        elif flaps:
            message += ", while its group is flapping: quiet until it is stable"
        self.events.append(NewEvent(incident_id, kind, ACTOR, SOURCE, message,
                                    {"maintenance": window.id} if window else {}))
        if group.route.escalation:
            how = "hold" if window is not None or flaps else "start" if kind == EventKind.OPENED else "resume"
            self.escalations.append((incident_id, group.route.escalation, how))

    def _target(self, group: Group, stored: Stored | None) -> int | None:
        """A firing group's alerts all go to its open incident; a resolved alert stays where it is stored."""
        if stored is not None and not group.firing:
            return stored.incident_id
        return self.target.get(group.key)

    async def _write_alerts(self, items: list[tuple[Group, Item]]) -> None:
        """Count repeats in place; insert new instances; lock, compare and update only the alerts that differ."""
        targets = [self.target.get(g.key) if g.firing else None for g, _ in items]
        repeated, stored = await alerts_sql.count_repeats(self.conn, [i.alert for _, i in items], targets, self.now)
        for position, incident_id in sorted(repeated.items()):
            self._count(items[position][1], incident_id)
        rest = [(group, item) for position, (group, item) in enumerate(items) if position not in repeated]
        known = await self._lock([i for p, (_, i) in enumerate(items) if p in stored])
        fresh: list[tuple[Group, Item, int]] = []
        updates: list[tuple[Stored, int, AlertSignal | None]] = []
        for group, item in rest:
            row = known.get(identity(item.alert))
            target = self._target(group, row)
            if target is None:
                self._skip(item)
                continue
            self._count(item, target)
            if row is None:
                fresh.append((group, item, target))
            else:
                updates.append(self._update(row, item, target))
        for _ in range(3):
            if not fresh:
                break
            fresh = await self._insert(fresh, updates)
        if fresh:
            raise Stale("alert rows kept appearing and disappearing under this transaction")
        if updates:
            await alerts_sql.update_known(
                self.conn, [s.id for s, _, _ in updates], [t for _, t, _ in updates], [c for _, _, c in updates],
                self.now,
            )
        for incident_id, name, how in self.escalations:
            if how == "hold":
                await escalations_sql.hold(self.conn, incident_id, name, self.now)
            elif how == "start" or not await escalations_sql.resume(self.conn, incident_id, self.now):
                await escalation.start(self.conn, incident_id, name, self.now)

    async def _lock(self, items: list[Item]) -> dict[Identity, Stored]:
        """The stored rows of these alerts, locked: what they were before this transaction changes them."""
        if not items:
            return {}
        rows = await alerts_sql.lock_known(self.conn, [i.alert for i in items])
        return {(s.fingerprint, s.starts_at): s for s in rows}

    async def _insert(
        self, fresh: list[tuple[Group, Item, int]], updates: list[tuple[Stored, int, AlertSignal | None]]
    ) -> list[tuple[Group, Item, int]]:
        """Insert new instances; those another writer stored first are read (locked) and updated instead."""
        targets, alerts = [t for _, _, t in fresh], [i.alert for _, i, _ in fresh]
        ids, superseded = await alerts_sql.insert_new(self.conn, targets, alerts, self.now)
        for row in superseded:
            self.changes[row.incident_id].append(Change(row.view("firing"), row.view()))
            self.events.append(_alert_event(row.incident_id, _signal(row), superseded=True))
        lost = [(g, i, t) for g, i, t in fresh if identity(i.alert) not in ids]
        for _, item, target in fresh:
            new_id = ids.get(identity(item.alert))
            if new_id is not None:
                a = item.alert
                view = AlertView.of(new_id, a.status, a.labels, a.annotations, a.generator_url)
                self.changes[target].append(Change(None, view))
                self.events.append(_alert_event(target, a, item.superseded))
        stored = await self._lock([i for _, i, _ in lost])
        retry = []
        for group, item, target in lost:
            row = stored.get(identity(item.alert))
            if row is None:  # inserted and gone again before our look: insert once more
                retry.append((group, item, target))
            else:
                updates.append(self._update(row, item, target))
        return retry

    def _update(self, stored: Stored, item: Item, target: int) -> tuple[Stored, int, AlertSignal | None]:
        """The change of a stored alert; what update_known writes for it."""
        alert = item.alert
        same = _same_content(stored, alert)
        after = AlertView.of(stored.id, alert.status, alert.labels, alert.annotations, alert.generator_url)
        if stored.incident_id != target:
            self.changes[stored.incident_id].append(Change(stored.view(), None))
            self.changes[target].append(Change(None, after))
        elif not same:
            self.changes[target].append(Change(stored.view(), after))
        if stored.incident_id != target or stored.status != alert.status:
            self.events.append(_alert_event(target, alert, item.superseded))
        return stored, target, None if same else alert

    def _count(self, item: Item, target: int) -> None:
        """The alert is stored (in `target`): in each of its batches' answers."""
        for index in item.batches:
            result = self.results[index]
            result.alerts_stored += 1
            if target not in result.incident_ids:
                result.incident_ids.append(target)

    def _skip(self, item: Item) -> None:
        reason = f"resolved alert {item.alert.fingerprint} belongs to no incident"
        for index in item.batches:
            self.results[index].skipped.append(SkippedAlert(-1, reason))

    def _incidents_to_refresh(self) -> set[int]:
        """Incidents whose alerts changed, whose Alertmanager link moved, that wait for auto-resolve, or whose
        window or flapping may change."""
        ids = {i for i, changes in self.changes.items() if changes} | self.quiet.touched()
        for incident_id, url in self.external_url.items():
            incident = self.held[incident_id].incident
            if url and url != incident.external_url:
                ids.add(incident_id)
            if incident.auto_resolve and incident.status is not Status.RESOLVED and incident.firing_alert_count == 0:
                ids.add(incident_id)
        return ids

    async def _refresh(self, incident_id: int) -> None:
        """Fold this transaction's changes into the incident and store it if anything it shows changed."""
        held = self.held.get(incident_id)
        if held is None:
            held = (await incidents_sql.read_held(self.conn, [incident_id]))[incident_id]
        for _attempt in (1, 2):
            state = await self._derive(held, incident_id)
            fields = fields_of(state, held.incident.group_labels, self._url(held))
            incident = held.incident
            if incident_id in self.firing_into and incident.status is Status.RESOLVED:
                raise Stale(f"incident #{incident_id} was resolved while alerts were being added to it")
            resolve = fields.firing_count == 0 and incident.auto_resolve and incident.status is not Status.RESOLVED
            if resolve:
                await self.quiet.changed(self.conn, incident_id, incident.group_key,
                                         self.routes.by_id(incident.route_id))
            released = incident_id in self.quiet.release and incident.maintenance_id is not None and not resolve
            maintenance = None if released else incident.maintenance_id
            flapping = self.quiet.flapping.get(incident_id, incident.flapping)
            url = self.external_url.get(incident_id, "")
            if not resolve and _unchanged(held, fields, state, url) and (maintenance, flapping) == (
                    incident.maintenance_id, incident.flapping):
                return
            updated = await incidents_sql.apply_derived(
                self.conn, held, fields, state.to_json(), url, self.now, resolve=resolve,
                maintenance_id=maintenance, flapping=flapping,
            )
            if updated is not None:
                if resolve:
                    message = "Resolved: every alert has resolved"
                    self.events.append(NewEvent(incident_id, EventKind.RESOLVED, ACTOR, SOURCE, message))
                await self._quiet_changes(updated, incident, released)
                return
            # Changed since we read it: read it again, locked this time, and fold the same changes into it.
            held = (await incidents_sql.read_held(self.conn, [incident_id], lock=True))[incident_id]
        raise AssertionError(f"incident #{incident_id} changed while locked")

    async def _quiet_changes(self, incident: Incident, before: Incident, released: bool) -> None:
        """Say that the incident left its window (paging now, when it is triggered and fires) or began to
        flap (its escalation stops: it paged once)."""
        route = self.routes.by_id(incident.route_id)
        if incident.flapping and incident.id in self.quiet.newly_flapping:
            message = f"Flapping ({describe_flapping(route.flap_threshold, route.flap_window)}): quiet until it " \
                      f"has been stable for {format_span(route.flap_window)}"
            self.events.append(NewEvent(incident.id, EventKind.FLAPPING, ACTOR, SOURCE, message))
            await escalation.stop(self.conn, incident.id)
        if not released:
            return
        pages = incident.status is Status.TRIGGERED and incident.firing_alert_count > 0 and not incident.flapping
        window = before.maintenance_id
        if pages:
            message = f"Left maintenance window {window}: an alert it does not cover fired; paging now"
            self.events.append(NewEvent(incident.id, EventKind.MAINTENANCE_ENDED, ACTOR, SOURCE, message,
                                        {"maintenance": window}))
            if not await escalations_sql.restart(self.conn, incident.id, self.now) and route.escalation:
                await escalation.start(self.conn, incident.id, route.escalation, self.now)
        else:
            self.events.append(NewEvent(incident.id, EventKind.MAINTENANCE_LEFT, ACTOR, SOURCE,
                                        f"Left maintenance window {window}", {"maintenance": window}))

    def _url(self, held: Held) -> str:
        return self.external_url.get(held.incident.id) or held.incident.external_url

    async def _derive(self, held: Held, incident_id: int) -> Derived:
        """The incident's alert summary after this transaction's changes."""
        if incident_id in self.opened:
            state = Derived()
        elif held.derived is None:  # stored before summaries were kept: read its alerts once
            return full(await alerts_sql.views_of_incident(self.conn, incident_id))
        else:
            i = held.incident
            state = Derived.from_json(held.derived, i.alert_count, i.firing_alert_count, i.labels)
        state, needs = apply(state, self.changes.get(incident_id, []))
        return await _settle(self.conn, incident_id, state, needs) if needs else state


async def _settle(conn: asyncpg.Connection, incident_id: int, state: Derived, needs: Needs) -> Derived:
    """Do the lookups `apply` asked for: each reads few rows, but an alert that left reads them all."""
    if needs.recount:
        everything = full(await alerts_sql.views_of_incident(conn, incident_id))
        return with_lookups(state, needs, everything=everything)
    picked = {kind: await alerts_sql.first_having(conn, incident_id, kind) for kind in sorted(needs.picks)}
    shared = {key: await alerts_sql.shared_annotation(conn, incident_id, key) for key in sorted(needs.shared)}
    return with_lookups(state, needs, picked=picked, shared=shared)


def _unchanged(held: Held, fields: IncidentFields, state: Derived, url: str) -> bool:
    i = held.incident
    return (
        (i.title, i.severity, i.labels, i.summary, i.links, i.alert_count, i.firing_alert_count)
        == (fields.title, fields.severity, fields.labels, fields.summary, fields.links, fields.alert_count,
            fields.firing_count)
        and held.derived == state.to_json()
        and (not url or url == i.external_url)
    )


def _signal(row: Stored) -> AlertSignal:
    return AlertSignal(row.fingerprint, row.status, row.starts_at, None, row.labels, row.annotations, row.generator_url)
