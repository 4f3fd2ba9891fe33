"""What keeps an ingest transaction's incidents quiet: maintenance windows and flapping groups.

A firing group whose alerts a window in force covers opens (or reopens) its incident in that window: no
escalation, no mail, one quiet chat message kept up to date. An incident in a window that gets a firing
alert the windows do not cover leaves it and pages. Each state change of a group (opened, reopened,
resolved by itself) is counted; a group changing too often flaps and its incidents go quiet until it is
stable. The windows in force are read once per transaction (the config's are matched here, the stored
ones with one indexed query); the groups whose state changed are read and written with one statement each.
Nothing here reads an incident's alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from store import escalation
from store.domain import flapping
from store.domain.batching import Group
from store.domain.config_fields import format_span
from store.domain.incident import ActionSource, Status
from store.domain.maintenance import Window, active, window_for
from store.domain.routing import Route
from store.models import NewEvent
from store.sql import escalations as escalations_sql
from store.sql import flaps as flaps_sql
from store.sql import maintenance as maintenance_sql
from store.sql.incidents import DerivedUpdate
from store.timeline import EventKind

ACTOR = "alertmanager"
SOURCE = ActionSource.ALERTMANAGER.value


class Quiet:
    """One transaction's windows in force and flap decisions."""

    def __init__(self, config_windows: Sequence[Window], now: datetime) -> None:
        self.config_windows, self.now = config_windows, now
        self.windows: list[Window] = []
        self.flapping: dict[int, bool] = {}  # incidents whose group changed state here -> flapping after it
        self.newly_flapping: set[int] = set()
        self.release: set[int] = set()  # incidents in a window that got a firing alert no window covers
        self.noted: list[tuple[int, str, Route]] = []  # state changes not yet counted

    async def load(self, conn: asyncpg.Connection, groups: Sequence[Group]) -> None:
        """Read the windows in force, when any group fires (resolved alerts need none)."""
        if any(g.firing for g in groups):
            self.windows = active(self.config_windows, self.now) + await maintenance_sql.active(conn, self.now)

    def window(self, group: Group) -> Window | None:
        """The window the group's incident is in, judged by the firing alerts of this transaction."""
        if not self.windows:
            return None
        return window_for(self.windows, [item.alert.labels for item in group.items.values() if item.alert.firing])

    def keep_or_release(self, incident_id: int, in_window: str | None, window: Window | None) -> None:
        """An open incident in a window leaves it when firing alerts came that no window in force covers."""
        if in_window is not None and window is None:
            self.release.add(incident_id)

    def note(self, incident_id: int, group_key: str, route: Route) -> None:
        """A state change of the incident's group (opened, reopened, resolved by itself), counted by count()."""
        if incident_id not in self.flapping and all(i != incident_id for i, _, _ in self.noted):
            self.noted.append((incident_id, group_key, route))

    async def count(self, conn: asyncpg.Connection) -> None:
        """Count the changes noted so far: their groups' rows read (locked) and written in one statement each."""
        pending, self.noted = self.noted, []
        if not pending:
            return
        kept = await flaps_sql.lock_many(conn, sorted({key for _, key, _ in pending}))
        routes: dict[str, str] = {}
        for incident_id, key, route in pending:
            changes, since = kept.get(key, ([], None))
            after, flapping_since = flapping.after_change(changes, since, self.now, route.flap_window,
                                                          route.flap_threshold)
            kept[key], routes[key] = (after, flapping_since), route.id
            self.flapping[incident_id] = flapping_since is not None
            if flapping_since is not None and since is None:
                self.newly_flapping.add(incident_id)
        await flaps_sql.store_many(conn, [(key, routes[key], *kept[key]) for key in sorted(routes)], self.now)

    def touched(self) -> set[int]:
        """Incidents whose window or flapping this transaction may change: they are written at the end."""
        return set(self.flapping) | {i for i, _, _ in self.noted} | self.release

    async def started(self, conn: asyncpg.Connection, incident_id: int, kind: str, group: Group,
                      window: Window | None) -> NewEvent:
        """The entry of an opening or reopening (once its flapping is known); its escalation started, resumed
        where it stopped (a reopening pages nobody anew) or, when quiet, held for later."""
        flaps = self.flapping.get(incident_id, False)
        if kind == EventKind.OPENED:
            message = f"Opened by {group.origin.name}"
        else:
            within = format_span(group.route.reopen_within)
            message = f"Reopened without paging: an alert fired again within {within} of resolving"
        if window is not None:
            message += f", in maintenance window {window.id}: no pages until it ends"
        elif flaps:
            message += ", while its group is flapping: quiet until it is stable"
        policy = group.route.escalation
        if policy and (window is not None or flaps):
            await escalations_sql.hold(conn, incident_id, policy, self.now)
        elif policy and (kind == EventKind.OPENED or not await escalations_sql.resume(conn, incident_id, self.now)):
            await escalation.start(conn, incident_id, policy, self.now)
        data = {"maintenance": window.id} if window else {}
        return NewEvent(incident_id, kind, group.origin.actor, group.origin.source, message, data)

    async def written(self, conn: asyncpg.Connection, update: DerivedUpdate, route: Route) -> list[NewEvent]:
        """The entries of an incident written with a new window or flapping: it began to flap (its escalation
        stops: it paged once), or left its window (paging now, when it is triggered and fires)."""
        before, events = update.held.incident, []
        if update.flapping and before.id in self.newly_flapping:
            message = (f"Flapping ({flapping.describe(route.flap_threshold, route.flap_window)}): quiet until it has "
                       f"been stable for {format_span(route.flap_window)}")
            events.append(NewEvent(before.id, EventKind.FLAPPING, ACTOR, SOURCE, message))
            await escalation.stop(conn, before.id)
        window = before.maintenance_id
        if window is None or update.maintenance_id is not None:
            return events
        data = {"maintenance": window}
        if before.status is Status.TRIGGERED and update.fields.firing_count > 0 and not update.flapping:
            message = f"Left maintenance window {window}: an alert it does not cover fired; paging now"
            events.append(NewEvent(before.id, EventKind.MAINTENANCE_ENDED, ACTOR, SOURCE, message, data))
            if not await escalations_sql.restart(conn, before.id, self.now) and route.escalation:
                await escalation.start(conn, before.id, route.escalation, self.now)
        else:
            events.append(NewEvent(before.id, EventKind.MAINTENANCE_LEFT, ACTOR, SOURCE,
                                   f"Left maintenance window {window}", data))
        return events
