"""web/chat_actions.py over the real store: what Slack and Telegram do to incidents, and what people are told."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from quart import Quart

from bot.slack.handlers import explain
from store.db import Database
from store.domain.config_schema import Config
from store.domain.incident import ActionSource, Status
from store.errors import ApiError
from store.runtime import Runtime
from store.sql import events as events_sql
from tests.support.incidents import ROUTES, open_incident
from web.chat_actions import ChatActions


def actions_on(db: Database | None, alertmanager_url: str | None = None) -> ChatActions:
    app = Quart("test")
    if db is not None:
        app.extensions["tocsin"] = Runtime(db=db, config=Config(routes=ROUTES),
                                           clock=lambda: datetime(2026, 11, 26, 12, tzinfo=UTC))
    return ChatActions(app, alertmanager_url)


async def test_acknowledge_resolve_and_conflicts_name_who_and_when(db: Database) -> None:
    actions = actions_on(db)
    incident_id = await open_incident(db, "chat")
    acked = await actions.acknowledge(incident_id, "alice", ActionSource.SLACK)
    assert acked.status is Status.ACKNOWLEDGED and acked.acknowledged_by == "alice"
    resolved = await actions.resolve(incident_id, "bob", ActionSource.TELEGRAM, "disk cleaned")
    assert resolved.status is Status.RESOLVED
    with pytest.raises(ApiError) as caught:
        await actions.acknowledge(incident_id, "carol", ActionSource.SLACK)
    assert caught.value.status == 409
    told = explain(caught.value, "acknowledge")
    assert f"#{incident_id} was already resolved by bob" in told and told.startswith(":warning: Cannot")
    async with db.connection() as conn:
        timeline = await events_sql.list_for_incident(conn, incident_id)
    assert [(e.kind, e.actor, e.source) for e in timeline[-2:]] == [
        ("acknowledged", "alice", "slack"), ("resolved", "bob", "telegram")
    ]


async def test_list_open_oncall_and_open_by_hand(db: Database) -> None:
    actions = actions_on(db)
    first = await open_incident(db, "one")
    second = await open_incident(db, "two")
    await actions.acknowledge(first, "alice", ActionSource.SLACK)
    made = await actions.open_manual("Database is slow", "alice", ActionSource.SLACK)
    assert made.title == "Database is slow"
    assert [i.id for i in await actions.list_open()] == [made.id, second, first]
    await actions.resolve(second, "alice", ActionSource.SLACK)
    assert second not in [i.id for i in await actions.list_open()]
    assert await actions.oncall_text() == "No on-call schedules are configured."


async def test_silence_without_alertmanager_and_before_serving_are_clear_errors(db: Database) -> None:
    incident_id = await open_incident(db, "quiet")
    with pytest.raises(ApiError, match="ALERTMANAGER_URL") as caught:
        await actions_on(db).silence(incident_id, 3600, "alice", ActionSource.TELEGRAM)
    assert caught.value.status == 409
    with pytest.raises(ApiError, match="starting or stopping"):
        await actions_on(None).acknowledge(incident_id, "alice", ActionSource.SLACK)
