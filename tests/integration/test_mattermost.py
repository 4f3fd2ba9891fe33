"""Mattermost through its stand-in: posts with buttons whose requests carry the secret, the slash command with its
token, both reaching the chat core over the real store; refusals that change nothing; the delivery channel with
Mattermost's refusals and rate limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from quart import Quart

from bot.mattermost.app import MattermostTransport
from bot.mattermost.settings import MattermostSettings
from store.db import Database
from store.domain.incident import Status
from store.domain.users import User
from store.sql import incidents as incidents_sql
from tests.support.chat_core import RecordingSilencer, core_on, note_texts, people_did
from tests.support.incident_values import make_event, make_incident
from tests.support.incidents import open_incident
from tests.support.mattermost_api import CHANNEL, COMMAND_TOKEN, TOKEN, MattermostApi, command_form

PUBLIC = "https://tocsin.example.com"
SECRET = "mattermost-action-secret-0123456789"
ALICE_MM = "a" * 26
USERS = [User(id="alice", name="Alice Example", mattermost_id=ALICE_MM), User(id="bob", name="Bob",
                                                                              mattermost_id="@bob.b")]


def settings_for(api: MattermostApi, token: str = TOKEN) -> MattermostSettings:
    return MattermostSettings(url=api.url, bot_token=token, action_secret=SECRET, command_token=COMMAND_TOKEN,
                              channel_id=CHANNEL, public_url=PUBLIC, alertmanager_url="http://am:9093")


@dataclass
class Delivery:
    kind: str
    target: str | None = None
    external_ref: str | None = None


@dataclass
class Harness:
    api: MattermostApi
    transport: MattermostTransport
    client: Any

    async def post(self, path: str, body: bytes, content_type: str) -> tuple[int, Any]:
        response = await self.client.post(path, data=body, headers={"Content-Type": content_type})
        return response.status_code, await response.get_json()

    async def click(self, body: bytes) -> tuple[int, Any]:
        return await self.post("/mattermost/actions", body, "application/json")

    async def command(self, text: str, user_id: str = ALICE_MM, name: str = "alice", token: str = COMMAND_TOKEN
                      ) -> tuple[int, Any]:
        return await self.post("/mattermost/command", command_form(text, user_id, name, token),
                               "application/x-www-form-urlencoded")

    async def posted(self, incident_id: int, db: Database) -> str:
        """The post of the incident, as the delivery channel makes it."""
        async with db.connection() as conn:
            incident = await incidents_sql.get(conn, incident_id)
        result = await self.transport.channel.send(Delivery("open"), incident, [])
        assert result.ok and result.external_ref
        return result.external_ref


@pytest.fixture
async def mattermost() -> AsyncIterator[MattermostApi]:
    api = await MattermostApi(users={"bob.b": "d" * 26}).start()
    yield api
    await api.stop()


@pytest.fixture
async def harness(mattermost: MattermostApi, db: Database) -> AsyncIterator[Harness]:
    transport = MattermostTransport(settings_for(mattermost), core_on(db, RecordingSilencer()), USERS)
    app = Quart("mattermost-test")
    app.register_blueprint(transport.blueprint())
    async with app.test_app():
        yield Harness(mattermost, transport, app.test_client())
    await transport.stop()


@pytest.mark.parametrize(("label", "expected"), [
    ("Acknowledge", ("acknowledged", "alice", "mattermost")),
    ("Resolve", ("resolved", "alice", "mattermost")),
    ("Silence 1h", ("silenced", "alice", "mattermost")),
])
async def test_a_button_click_carries_the_secret_and_acts_as_the_config_user(
    harness: Harness, db: Database, label: str, expected: tuple[str, str, str]
) -> None:
    incident_id = await open_incident(db, "button")
    post_id = await harness.posted(incident_id, db)
    assert await harness.click(harness.api.click(post_id, label, ALICE_MM, "alice")) == (200, {})
    assert await people_did(db, incident_id) == [expected]


async def test_users_are_mapped_by_id_or_username_and_failures_are_told_to_the_person(
    harness: Harness, db: Database
) -> None:
    incident_id = await open_incident(db, "users")
    post_id = await harness.posted(incident_id, db)
    assert (await harness.click(harness.api.click(post_id, "Acknowledge", "z" * 26, "bob.b")))[0] == 200
    status, answer = await harness.click(harness.api.click(post_id, "Acknowledge", "y" * 26, "carol"))
    assert status == 200 and answer["ephemeral_text"].startswith(f":warning: Cannot acknowledge \\#{incident_id}")
    await harness.click(harness.api.click(post_id, "Resolve", "y" * 26, "alice"))  # named like a config user
    assert await people_did(db, incident_id) == [("acknowledged", "bob", "mattermost"),
                                                 ("resolved", f"alice ({'y' * 26})", "mattermost")]


async def test_requests_without_the_secret_or_token_are_refused_and_change_nothing(
    harness: Harness, db: Database
) -> None:
    incident_id = await open_incident(db, "forged")
    post_id = await harness.posted(incident_id, db)
    genuine = json.loads(harness.api.click(post_id, "Acknowledge", ALICE_MM, "alice"))
    for context in ({**genuine["context"], "secret": "guess"}, {k: v for k, v in genuine["context"].items()
                                                                 if k != "secret"}, "x", None):
        status, answer = await harness.click(json.dumps({**genuine, "context": context}).encode())
        assert status == 401 and answer["error"]["code"] == "unauthorized"
    assert (await harness.command(f"ack {incident_id}", token="wrong" * 5))[0] == 401
    assert (await harness.post("/mattermost/command", b"text=ack+1", "application/x-www-form-urlencoded"))[0] == 401
    for odd in (b"[1]", b"not json", b"[" * 30000 + b"]" * 30000):
        assert (await harness.click(odd))[0] == 400
    assert (await harness.click(b"{" + b" " * 70_000 + b"}"))[0] == 413
    assert await people_did(db, incident_id) == []


async def test_the_slash_command_answers_privately_through_the_chat_core(harness: Harness, db: Database) -> None:
    incident_id = await open_incident(db, "command")
    status, answer = await harness.command("list")
    assert status == 200 and answer["response_type"] == "ephemeral" and answer["text"].startswith("**1 open incident**")
    assert (await harness.command(f"ack {incident_id}"))[1]["text"].startswith(":eyes: Acknowledged [\\#")
    assert (await harness.command(f"resolve {incident_id} rolled back"))[1]["text"].startswith(":white_check_mark:")
    assert (await harness.command("oncall"))[1]["text"] == "No on-call schedules are configured."
    assert (await harness.command("ack ¹"))[1]["text"].startswith(":warning: \\`¹\\` is not an incident number")
    assert "`/incident ack ID`" in (await harness.command("help"))[1]["text"]
    assert await people_did(db, incident_id) == [("acknowledged", "alice", "mattermost"),
                                                 ("resolved", "alice", "mattermost")]
    assert await note_texts(db, incident_id) == ["rolled back"]


async def test_open_posts_buttons_update_patches_and_dms_reach_a_username(mattermost: MattermostApi) -> None:
    transport = MattermostTransport(settings_for(mattermost), core_on(None), USERS)
    channel = transport.channel
    try:
        opened = await channel.send(Delivery("open"), make_incident(), [make_event("opened")])
        assert opened.ok and opened.external_ref in mattermost.posts
        actions = mattermost.posts[opened.external_ref]["props"]["attachments"][0]["actions"]
        assert [(a["name"], a["integration"]["context"]["action"]) for a in actions] == [
            ("Acknowledge", "ack"), ("Resolve", "resolve"), ("Silence 1h", "silence")]
        assert actions[0]["integration"]["url"] == f"{PUBLIC}/mattermost/actions"
        acked = make_incident(status=Status.ACKNOWLEDGED, acknowledged_by="alice")
        updated = await channel.send(Delivery("update", external_ref=opened.external_ref), acked, [])
        assert updated.ok and len(mattermost.posts) == 1
        fields = mattermost.posts[opened.external_ref]["props"]["attachments"][0]["fields"]
        assert fields[0]["value"] == ":eyes: Acknowledged by Alice Example"
        direct = await channel.send(Delivery("open", "user:@bob.b"), make_incident(), [])
        assert direct.ok and mattermost.calls_to("GET", "/users/username/bob.b")
    finally:
        await transport.stop()


async def test_refusals_rate_limits_and_outages_become_results_for_the_outbox(mattermost: MattermostApi) -> None:
    transport = MattermostTransport(settings_for(mattermost), core_on(None), USERS)
    channel = transport.channel
    send = channel.send
    try:
        lost = await send(Delivery("update", external_ref="p" * 26), make_incident(), [])
        assert not lost.ok and "HTTP 404" in (lost.error or "")
        huge = await send(Delivery("open"), make_incident(title="x" * 20_000), [])
        assert huge.ok  # cut to fit: Mattermost would refuse a message over 16,383 characters
        mattermost.fail_next(1, 429, reset=2.0)
        limited = await send(Delivery("open"), make_incident(), [])
        assert not limited.ok and limited.retry_after == 2.0
        calls = len(mattermost.calls)
        held = await send(Delivery("open", "user:@bob.b"), make_incident(), [])
        assert not held.ok and 0 < (held.retry_after or 0) <= 2.0 and len(mattermost.calls) == calls
        transport.api.limits.until.clear()
        mattermost.fail_next(1, 500)
        broken = await send(Delivery("open"), make_incident(), [])
        assert not broken.ok and broken.retry_after is None and "HTTP 500" in (broken.error or "")
    finally:
        await transport.stop()
    wrong = MattermostTransport(settings_for(mattermost, token="w" * 26), core_on(None))
    try:
        refused = await wrong.channel.send(Delivery("open"), make_incident(), [])
        assert not refused.ok and "HTTP 401" in (refused.error or "")
    finally:
        await wrong.stop()
