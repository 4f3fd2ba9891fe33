"""The chat core (bot/actions.py) on a test's real database, and what people did through it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from bot.actions import ChatActions
from store.db import Database
from store.domain.config_schema import Config
from store.domain.users import User
from store.models import Event
from store.runtime import Runtime
from store.silence import Silencer
from store.sql import events as events_sql
from tests.support.incidents import ROUTES
from tests.support.waiting import eventually

PEOPLE_KINDS = ("acknowledged", "resolved", "note", "silenced", "opened")
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
# The one config user of the transports' tests: an admin, so maintenance windows and heartbeats work from chat.
ADMIN = User(id="alice", name="Alice Example", role="admin")


class RecordingSilencer:
    """Alertmanager's silence API as the store calls it: records each silence and answers its id."""

    def __init__(self) -> None:
        self.bodies: list[Mapping[str, object]] = []

    async def create_silence(self, body: Mapping[str, object]) -> str:
        self.bodies.append(body)
        return f"silence-{len(self.bodies)}"


def core_on(db: Database | None, silencer: Silencer | None = None, config: Config | None = None) -> ChatActions:
    """The chat core as the composition root wires it (db None: Tocsin not serving yet); by default any chat
    member may act (chat_strangers: act), as the transports' tests need; tests/integration/test_chat_roles.py
    checks the default of the config (read). Alice is a config user, an admin."""
    config = config or Config(routes=ROUTES, chat_strangers="act", users=(ADMIN,))
    runtime = Runtime(db=db, config=config, clock=lambda: NOW) if db is not None else None
    return ChatActions(lambda: runtime, silencer)


async def people_did(db: Database, incident_id: int) -> list[tuple[str, str, str]]:
    """(kind, actor, source) of the timeline entries people made on the incident, oldest first."""
    async with db.connection() as conn:
        timeline: list[Event] = await events_sql.list_for_incident(conn, incident_id)
    return [(e.kind, e.actor, e.source) for e in timeline if e.kind in PEOPLE_KINDS and e.source != "alertmanager"]


async def wait_for_people(
    db: Database, incident_id: int, count: int, within: float = 10.0
) -> list[tuple[str, str, str]]:
    """What people did on the incident, once at least `count` entries are there (bounded in time)."""

    async def enough() -> bool:
        return len(await people_did(db, incident_id)) >= count

    await eventually(enough, within, f"{count} actions by people on incident #{incident_id}")
    return await people_did(db, incident_id)


async def note_texts(db: Database, incident_id: int) -> list[str]:
    """The messages of the incident's notes and resolve notes."""
    async with db.connection() as conn:
        timeline = await events_sql.list_for_incident(conn, incident_id)
    return [e.data.get("note") or e.message for e in timeline if e.kind in ("note", "resolved")]
