"""What keeps an ingest transaction's incidents quiet: maintenance windows and flapping groups.

A firing group whose alerts a window in force covers opens (or reopens) its incident in that window: no
escalation, no mail, one quiet chat message kept up to date. An incident in a window that gets a firing
alert the windows do not cover leaves it and pages. Each state change of a group (opened, reopened,
resolved by itself) is counted; a group changing too often flaps and its incidents go quiet until it is
stable. The windows in force are read once per transaction (the config's are matched here, the stored
ones with one indexed query); a state change reads and writes its group's one row. Nothing here reads an
incident's alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from store.domain import flapping
from store.domain.batching import Group
from store.domain.maintenance import Window, active, window_for
from store.domain.routing import Route
from store.sql import flaps as flaps_sql
from store.sql import maintenance as maintenance_sql


class Quiet:
    """One transaction's windows in force and flap decisions."""

    def __init__(self, config_windows: Sequence[Window], now: datetime) -> None:
        self.config_windows, self.now = config_windows, now
        self.windows: list[Window] = []
        self.flapping: dict[int, bool] = {}  # incidents whose group changed state here -> flapping after it
        self.newly_flapping: set[int] = set()
        self.release: set[int] = set()  # incidents in a window that got a firing alert no window covers

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

    async def changed(self, conn: asyncpg.Connection, incident_id: int, group_key: str, route: Route) -> bool:
        """Count a state change of the incident's group (once per transaction); whether the group flaps now."""
        if incident_id in self.flapping:
            return self.flapping[incident_id]
        changes, since = await flaps_sql.lock(conn, group_key)
        kept, flapping_since = flapping.after_change(changes, since, self.now, route.flap_window,
                                                     route.flap_threshold)
        await flaps_sql.store(conn, group_key, route.id, kept, flapping_since, self.now)
        self.flapping[incident_id] = flapping_since is not None
        if flapping_since is not None and since is None:
            self.newly_flapping.add(incident_id)
        return flapping_since is not None

    def touched(self) -> set[int]:
        """Incidents whose window or flapping this transaction may change: they are written at the end."""
        return set(self.flapping) | self.release
