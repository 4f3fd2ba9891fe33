"""The override service: someone on call instead of a schedule's layers for a while, without the file.

Stored in PostgreSQL, checked against the schedule's other overrides (the file's and the stored ones) under
a per-schedule lock, written on the audit trail, and announced by NOTIFY so that every replica merges it
(store/live_config.py) into on-call answers, the .ics feed and handoff announcements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from store.db import Database
from store.domain.config_schema import Config
from store.domain.oncall_view import rfc3339
from store.domain.overrides import ScheduleOverride, check_window, file_overrides, overlaps, refusal
from store.domain.schedule import Override
from store.domain.tokens import Role, role_allows
from store.errors import Conflict, Forbidden, Invalid, NotFound
from store.sql import audit as audit_sql
from store.sql import events as events_sql
from store.sql import overrides as overrides_sql
from store.sql.overrides import StoredOverride

OVERRIDES_KIND = "overrides"


@dataclass(frozen=True, slots=True)
class Acting:
    """Who asks: the actor recorded, their config user id (None for a token or stranger), role and channel."""

    actor: str
    user_id: str | None
    role: Role
    source: str

    def may_change(self, user_id: str) -> bool:
        """Anyone acting may change their own overrides; an admin also anyone else's."""
        return role_allows(self.role, Role.ADMIN) or (
            role_allows(self.role, Role.RESPONDER) and self.user_id is not None and self.user_id == user_id
        )


def as_json(stored: StoredOverride) -> dict[str, object]:
    """An override as the API shows it."""
    return {
        "id": stored.id,
        "schedule": stored.schedule_id,
        "user": stored.user_id,
        "from": rfc3339(stored.starts_at),
        "until": rfc3339(stored.ends_at),
        "created_by": stored.created_by,
        "created_via": stored.created_via,
        "created_at": rfc3339(stored.created_at),
    }


def known_schedule(config: Config, schedule_id: str) -> None:
    """NotFound unless the config has this schedule."""
    if config.schedule(schedule_id) is None:
        known = ", ".join(s.id for s in config.schedules) or "none configured"
        raise NotFound(f"schedule {schedule_id!r} does not exist; expected one of: {known}")


def _forbidden(acting: Acting, user_id: str) -> Forbidden:
    return Forbidden(f"{acting.actor} has role {acting.role} and may change only their own overrides; "
                     f"an admin may change {user_id}'s")


async def add_override(
    db: Database, config: Config, schedule_id: str, user_id: str, start: datetime, end: datetime, acting: Acting
) -> StoredOverride:
    """Put `user_id` on call in the schedule over [start, end); Conflict names every override it overlaps."""
    known_schedule(config, schedule_id)
    if config.user(user_id) is None:
        raise Invalid("user", f"{user_id!r} is not a user of the config; expected one of its users' ids")
    why = check_window(start, end)
    if why is not None:
        raise Invalid("until", why)
    if not acting.may_change(user_id):
        raise _forbidden(acting, user_id)
    new = ScheduleOverride(schedule_id, Override(user_id, start, end))
    async with db.transaction() as conn:
        await overrides_sql.lock_schedule(conn, schedule_id)
        clashing = [o for o in file_overrides(config, schedule_id) if overlaps(o.override, start, end)]
        clashing += [_domain(s) for s in await overrides_sql.overlapping(conn, schedule_id, start, end)]
        if clashing:
            details = [{"field": "from", "message": c.describe()} for c in clashing]
            raise Conflict(refusal(new, clashing), details, "override_overlaps")
        now = datetime.now(UTC)
        stored = await overrides_sql.insert(conn, schedule_id, user_id, start, end, acting.actor, acting.source, now)
        await _audit(conn, acting, "override.add", stored, now)
    return stored


async def delete_override(db: Database, schedule_id: str, override_id: int, acting: Acting) -> StoredOverride:
    """Delete a stored override (kept on the record); NotFound for an unknown or already deleted one."""
    async with db.transaction() as conn:
        await overrides_sql.lock_schedule(conn, schedule_id)
        stored = await overrides_sql.get(conn, schedule_id, override_id)
        if stored is None or stored.deleted_at is not None:
            raise NotFound(f"schedule {schedule_id!r} has no override {override_id}")
        if not acting.may_change(stored.user_id):
            raise _forbidden(acting, stored.user_id)
        now = datetime.now(UTC)
        deleted = await overrides_sql.delete(conn, override_id, acting.actor, acting.source, now)
        await _audit(conn, acting, "override.delete", deleted, now)
    return deleted


async def live_overrides(db: Database, since: datetime) -> list[ScheduleOverride]:
    """Every stored override still live and ending after `since`, oldest first."""
    async with db.connection() as conn:
        return [_domain(s) for s in await overrides_sql.live_since(conn, since)]


async def list_overrides(db: Database, schedule_id: str, since: datetime) -> list[StoredOverride]:
    """A schedule's live stored overrides ending after `since`."""
    async with db.connection() as conn:
        return [s for s in await overrides_sql.live_since(conn, since) if s.schedule_id == schedule_id]


def _domain(stored: StoredOverride) -> ScheduleOverride:
    override = Override(stored.user_id, stored.starts_at, stored.ends_at, stored.id)
    return ScheduleOverride(stored.schedule_id, override, stored.id)


async def _audit(conn: asyncpg.Connection, acting: Acting, action: str, stored: StoredOverride, now: datetime) -> None:
    data = {"user": stored.user_id, "from": rfc3339(stored.starts_at), "until": rfc3339(stored.ends_at)}
    subject = f"schedule:{stored.schedule_id}/override:{stored.id}"
    await audit_sql.insert(conn, acting.actor, acting.source, action, subject, data, now)
    await events_sql.notify(conn, [], [OVERRIDES_KIND])
