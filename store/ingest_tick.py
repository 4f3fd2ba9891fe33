"""One ingest transaction: the groups of one or more batches written with a handful of set-based statements."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from store import templates
from store.domain.alerts import ALERTMANAGER, AlertSignal, Origin, SkippedAlert
from store.domain.batching import Group, Identity, Item, identity
from store.domain.derived import AlertView, Change, Derived, Needs, apply, full, with_lookups
from store.domain.grouping import IncidentFields, fields_of
from store.domain.incident import Status
from store.domain.maintenance import Window
from store.domain.routing import RouteTable
from store.ingest_quiet import Quiet
from store.models import NewEvent
from store.sql import alerts as alerts_sql
from store.sql import incidents as incidents_sql
from store.sql.alerts import Stored
from store.sql.incidents import DerivedUpdate, Held
from store.timeline import EventKind, record

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


def _alert_event(incident_id: int, alert: AlertSignal, superseded: bool, origin: Origin) -> NewEvent:
    data = {"fingerprint": alert.fingerprint, "starts_at": alert.starts_at.isoformat()}
    if superseded:
        message = f"Alert resolved: {_describe(alert)} (replaced by a newer instance)"
        return NewEvent(incident_id, EventKind.ALERT_SUPERSEDED, origin.actor, origin.source, message, data)
    kind, verb = (EventKind.ALERT_FIRING, "firing") if alert.firing else (EventKind.ALERT_RESOLVED, "resolved")
    return NewEvent(incident_id, kind, origin.actor, origin.source, f"Alert {verb}: {_describe(alert)}", data)


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
        self.quiet = Quiet(self.routes.windows, now)  # maintenance windows in force, flapping groups
        self.windows: dict[str, Window | None] = {}  # group key -> the window its firing alerts are in
        self.held: dict[int, Held] = {}
        self.target: dict[str, int] = {}  # group key -> the incident its alerts go to
        self.opened: set[int] = set()  # incidents inserted by this transaction (their summary starts empty)
        self.firing_into: set[int] = set()  # incidents firing alerts go to: they must still be open at the end
        self.external_url: dict[int, str] = {}
        self.changes: dict[int, list[Change]] = defaultdict(list)
        self.events: list[NewEvent] = []
        self.starts: list[tuple[Held, str, Group]] = []  # incidents opened or reopened now, and how
        self.start_events: list[NewEvent] = []
        self.origins: dict[int, Origin] = {}  # incident -> who sent its latest alert here (its auto-resolve's actor)

    async def run(self) -> None:
        """Find or open the incidents, write the alerts, fold the changes into the incidents, record."""
        await self.quiet.load(self.conn, list(self.groups.values()))
        await self._incidents_for_groups()
        await self._write_alerts([(g, item) for g in self.groups.values() for item in g.items.values()])
        await self._refresh_all(sorted(self._incidents_to_refresh()))
        await self._begin()
        await record(self.conn, self.start_events + self.events)

    async def _incidents_for_groups(self) -> None:
        """Each group's incident: firing groups get an open one (found, reopened or opened, the new ones all
        in one statement); groups of resolved alerts only, their open one if any."""
        keys = sorted(self.groups)
        found = await incidents_sql.find_for_groups(self.conn, keys, [self._since(k) for k in keys])
        for _ in range(3):
            new = [k for k in keys if self.groups[k].firing and k not in found and k not in self.target]
            for key in keys:
                if key not in self.target and key in found:
                    await self._take(self.groups[key], found[key])
            if not new:
                return
            opening = [self._opening(self.groups[k]) for k in new]
            opened = await incidents_sql.insert_open_many(self.conn, opening, self.now)
            for key in new:
                if key in opened:
                    self.opened.add(opened[key].incident.id)
                    group = self.groups[key]
                    self._started(opened[key], EventKind.OPENED, group)
                    await self._template(group, opened[key])
                    await self._take(self.groups[key], opened[key])
            lost = [k for k in new if k not in opened]  # another writer opened them first (we waited for it)
            if not lost:
                return
            found = await incidents_sql.find_for_groups(self.conn, lost, [self._since(k) for k in lost])
        raise Stale("the groups' incidents kept changing under this transaction")

    async def _template(self, group: Group, held: Held) -> None:
        """The route's response template on a new incident: its checklist and runbooks."""
        if group.route.template is not None:
            self.events.append(await templates.apply(self.conn, held.incident.id, group.route.template,
                                                     group.origin.actor, group.origin.source, self.now))

    def _since(self, key: str) -> datetime:
        group = self.groups[key]
        return self.now - group.route.reopen_within if group.firing else self.now + OPEN_ONLY

    def _window(self, group: Group) -> Window | None:
        if group.key not in self.windows:
            self.windows[group.key] = self.quiet.window(group)
        return self.windows[group.key]

    def _window_id(self, group: Group) -> str | None:
        window = self._window(group)
        return window.id if window else None

    def _opening(self, group: Group) -> incidents_sql.NewIncident:
        """A new incident for the group, opened with the fields its alerts will give it, so that writing them
        after the alerts changes no indexed column (an update in place); the fold sets what differs."""
        views = [AlertView.of(n, i.alert.status, i.alert.labels, i.alert.annotations, i.alert.generator_url)
                 for n, i in enumerate(group.items.values())]
        fields = fields_of(full(views), group.group_labels, group.external_url)
        return incidents_sql.NewIncident(
            group_key=group.key, route_id=group.route.id, source=group.origin.source, title=fields.title,
            severity=fields.severity, group_labels=group.group_labels, external_url=group.external_url,
            auto_resolve=group.route.auto_resolve, channels=group.channels, maintenance_id=self._window_id(group),
            labels=fields.labels, summary=fields.summary,
        )

    async def _take(self, group: Group, held: Held) -> None:
        """Use this incident for the group (reopening a recently resolved one when alerts fire again); an open
        one in a window leaves it when alerts no window covers fire."""
        if group.firing and held.incident.status is Status.RESOLVED:
            held = await incidents_sql.reopen(self.conn, held.incident.id, self.now, self._window_id(group))
            self._started(held, EventKind.REOPENED, group)
        elif group.firing:
            self.quiet.keep_or_release(held.incident.id, held.incident.maintenance_id, self._window(group))
        if group.firing:
            self.firing_into.add(held.incident.id)
        elif held.incident.status is Status.RESOLVED:
            return  # resolved alerts only: they go to whichever incident holds them
        self.held[held.incident.id] = held
        self.target[group.key] = held.incident.id
        self.external_url[held.incident.id] = group.external_url

    def _started(self, held: Held, kind: str, group: Group) -> None:
        """An opening or reopening: a state change of its group, said and escalated once flapping is known."""
        self.starts.append((held, kind, group))
        self.quiet.note(held.incident.id, group.key, group.route)

    async def _begin(self) -> None:
        """Say that each incident opened or reopened, and start, resume or (when quiet) hold its escalation."""
        for held, kind, group in self.starts:
            event = await self.quiet.started(self.conn, held.incident.id, kind, group, self._window(group))
            self.start_events.append(event)

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
        senders = {i.alert.fingerprint: i.origin for _, i, _ in fresh}
        for row in superseded:
            self.changes[row.incident_id].append(Change(row.view("firing"), row.view()))
            origin = senders.get(row.fingerprint, ALERTMANAGER)
            self.events.append(_alert_event(row.incident_id, _signal(row), True, origin))
        lost = [(g, i, t) for g, i, t in fresh if identity(i.alert) not in ids]
        for _, item, target in fresh:
            new_id = ids.get(identity(item.alert))
            if new_id is not None:
                a = item.alert
                view = AlertView.of(new_id, a.status, a.labels, a.annotations, a.generator_url)
                self.changes[target].append(Change(None, view))
                self.events.append(_alert_event(target, a, item.superseded, item.origin))
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
            self.events.append(_alert_event(target, alert, item.superseded, item.origin))
        return stored, target, None if same else alert

    def _count(self, item: Item, target: int) -> None:
        """The alert is stored (in `target`): in each of its batches' answers."""
        self.origins[target] = item.origin
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

    async def _refresh_all(self, incident_ids: list[int]) -> None:
        """Fold this transaction's changes into each incident; store those whose shown fields changed, all in
        one statement when nobody changed them meanwhile (else each is read again, locked, and redone)."""
        missing = [i for i in incident_ids if i not in self.held]
        if missing:
            self.held.update(await incidents_sql.read_held(self.conn, missing))
        folded = {i: await self._fold(self.held[i]) for i in incident_ids}
        await self.quiet.count(self.conn)  # the openings, reopenings and these resolves, in one go
        updates = [u for u in [self._update_of(self.held[i], *folded[i]) for i in incident_ids] if u is not None]
        written = await incidents_sql.apply_derived_many(self.conn, updates, self.now)
        for update in updates:
            incident_id = update.held.incident.id
            if incident_id not in written:
                # Changed since we read it (and now locked by us): read it again and fold the same changes in.
                held = (await incidents_sql.read_held(self.conn, [incident_id], lock=True))[incident_id]
                fold = await self._fold(held)
                await self.quiet.count(self.conn)
                again = self._update_of(held, *fold)
                if again is None:
                    continue
                if not await incidents_sql.apply_derived_many(self.conn, [again], self.now):
                    raise AssertionError(f"incident #{incident_id} changed while locked")
                update = again
            if update.resolve:
                message = "Resolved: every alert has resolved"
                origin = self.origins.get(incident_id, ALERTMANAGER)
                self.events.append(NewEvent(incident_id, EventKind.RESOLVED, origin.actor, origin.source, message))
            self.events += await self.quiet.written(self.conn, update, self.routes.by_id(update.held.incident.route_id))

    async def _fold(self, held: Held) -> tuple[Derived, IncidentFields, bool]:
        """The incident's alert summary and fields after this transaction, and whether it resolves by itself
        (a state change of its group, noted for flap counting)."""
        incident, incident_id = held.incident, held.incident.id
        state = await self._derive(held, incident_id)
        fields = fields_of(state, incident.group_labels, self._url(held))
        if incident_id in self.firing_into and incident.status is Status.RESOLVED:
            raise Stale(f"incident #{incident_id} was resolved while alerts were being added to it")
        resolve = fields.firing_count == 0 and incident.auto_resolve and incident.status is not Status.RESOLVED
        if resolve:
            self.quiet.note(incident_id, incident.group_key, self.routes.by_id(incident.route_id))
        return state, fields, resolve

    def _update_of(self, held: Held, state: Derived, fields: IncidentFields, resolve: bool) -> DerivedUpdate | None:
        """What to write to the incident after this transaction's changes (None: what it shows is unchanged)."""
        incident, incident_id = held.incident, held.incident.id
        url = self.external_url.get(incident_id, "")
        released = incident_id in self.quiet.release and incident.maintenance_id is not None and not resolve
        window = None if released else incident.maintenance_id
        flapping = self.quiet.flapping.get(incident_id, incident.flapping)
        quiet_unchanged = (window, flapping) == (incident.maintenance_id, incident.flapping)
        if not resolve and quiet_unchanged and _unchanged(held, fields, state, url):
            return None
        resolver = self.origins.get(incident_id, ALERTMANAGER).actor
        return DerivedUpdate(held, fields, state.to_json(), url, resolve, window, flapping, resolver)

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
