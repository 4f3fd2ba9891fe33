"""Discord through its stand-in: signed interactions (PING, buttons, /incident) reaching the chat core over the real
store, refusals that change nothing, and the delivery channel with Discord's refusals and rate limits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from nacl.signing import SigningKey
from quart import Quart

from bot.discord.app import DiscordTransport
from bot.discord.client import DiscordApi as DiscordClient
from bot.discord.client import DiscordChannel
from bot.discord.settings import DiscordSettings
from store.db import Database
from store.domain.incident import Status
from store.domain.users import User
from tests.support.chat_core import RecordingSilencer, core_on, note_texts, people_did, wait_for_people
from tests.support.discord_api import (
    APPLICATION_ID,
    CHANNEL,
    TOKEN,
    DiscordApi,
    command_interaction,
    component_interaction,
)
from tests.support.incident_values import make_event, make_incident
from tests.support.incidents import open_incident
from tests.support.waiting import eventually

PUBLIC = "https://tocsin.example.com"
ALICE_DISCORD = "1100000000000000111"
USERS = [User(id="alice", name="Alice Example", discord_id=ALICE_DISCORD), User(id="bob", name="Bob")]


def settings_for(api: DiscordApi, token: str = TOKEN) -> DiscordSettings:
    return DiscordSettings(bot_token=token, public_key=api.public_key, application_id=APPLICATION_ID,
                           channel_id=CHANNEL, api_url=api.api_url, public_url=PUBLIC,
                           alertmanager_url="http://am:9093")


@dataclass
class Harness:
    api: DiscordApi
    transport: DiscordTransport
    client: Any

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        response = await self.client.post("/discord/interactions", data=body, headers=headers)
        return response.status_code, await response.get_json()

    async def interact(self, interaction: dict[str, Any]) -> tuple[int, Any]:
        return await self.post(*self.api.signed(interaction))

    async def followups(self, count: int) -> list[dict[str, Any]]:
        await eventually(lambda: _enough(self.api.followups, count), 10, f"{count} interaction follow-ups")
        return self.api.followups[:count]


async def _enough(items: list[Any], count: int) -> bool:
    return len(items) >= count


@pytest.fixture
async def discord() -> AsyncIterator[DiscordApi]:
    api = await DiscordApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def harness(discord: DiscordApi, db: Database) -> AsyncIterator[Harness]:
    transport = DiscordTransport(settings_for(discord), core_on(db, RecordingSilencer()), USERS)
    app = Quart("discord-test")
    app.register_blueprint(transport.blueprint())
    async with app.test_app():
        yield Harness(discord, transport, app.test_client())
    await transport.stop()


async def test_a_signed_ping_is_answered_with_a_pong(harness: Harness) -> None:
    assert await harness.interact({"type": 1, "id": "1", "application_id": APPLICATION_ID}) == (200, {"type": 1})


def _forged(api: DiscordApi, interaction: dict[str, Any]) -> list[tuple[bytes, dict[str, str]]]:
    body, headers = api.signed(interaction)
    stale_body, stale = api.signed(interaction, stamp=int(time.time()) - 6 * 60)
    other_body, other = api.signed(interaction, key=SigningKey.generate())
    signature = headers["X-Signature-Ed25519"]
    altered = signature[:-2] + ("11" if signature.endswith("00") else "00")  # one in 256 signatures ends in 00
    return [
        (body, {"Content-Type": "application/json"}),  # unsigned
        (body, {**headers, "X-Signature-Ed25519": altered}),  # wrong signature
        (body + b" ", headers),  # body changed after signing
        (stale_body, stale),  # replayed six minutes later
        (other_body, other),  # signed with another key
        (body, {**headers, "X-Signature-Ed25519": "not hex"}),
        (body, {**headers, "X-Signature-Timestamp": "１２３"}),
    ]


async def test_forged_or_stale_interactions_are_refused_and_change_nothing(harness: Harness, db: Database) -> None:
    incident_id = await open_incident(db, "forged")
    for body, headers in _forged(harness.api, component_interaction(f"ack_incident:{incident_id}", ALICE_DISCORD)):
        status, answer = await harness.post(body, headers)
        assert status == 401 and answer["error"]["code"] == "unauthorized"
    assert (await harness.post(*harness.api.signed({"type": 1})))[0] == 200
    assert await people_did(db, incident_id) == [] and harness.api.calls == []


async def test_oversized_and_odd_bodies_get_a_clear_refusal(harness: Harness) -> None:
    body, headers = harness.api.signed({"type": 1, "padding": "x" * 70_000})
    assert (await harness.post(body, headers))[0] == 413
    for odd in ([1, 2], {"type": 99, "token": "t"}, {"type": 3}, {"type": "1"}):
        body, headers = harness.api.signed(odd)  # type: ignore[arg-type]
        assert (await harness.post(body, headers))[0] == 400
    nested = b"[" * 30000 + b"]" * 30000
    stamp = str(int(time.time()))
    signature = harness.api.key.sign(stamp.encode() + nested).signature.hex()
    status, _ = await harness.post(nested, {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp})
    assert status == 400


@pytest.mark.parametrize(("button", "expected"), [
    ("ack_incident", ("acknowledged", "alice", "discord")),
    ("resolve_incident", ("resolved", "alice", "discord")),
    ("silence_incident", ("silenced", "alice", "discord")),
])
async def test_a_button_acts_as_the_config_user_and_is_deferred(
    harness: Harness, db: Database, button: str, expected: tuple[str, str, str]
) -> None:
    incident_id = await open_incident(db, "button")
    assert await harness.interact(component_interaction(f"{button}:{incident_id}", ALICE_DISCORD)) == (200, {"type": 6})
    assert await wait_for_people(db, incident_id, 1) == [expected]
    assert harness.api.followups == []  # the message's edit shows it worked


async def test_members_outside_the_config_act_under_their_name_and_failures_are_told_privately(
    harness: Harness, db: Database
) -> None:
    incident_id = await open_incident(db, "member")
    await harness.interact(component_interaction(f"resolve_incident:{incident_id}", "1100000000000000222", "carol"))
    assert await wait_for_people(db, incident_id, 1) == [("resolved", "Carol", "discord")]
    await harness.interact(component_interaction(f"ack_incident:{incident_id}", "1100000000000000333", "bob"))
    (told,) = await harness.followups(1)
    assert told["body"]["flags"] == 64 and told["token"] == "interaction-token-1"
    assert told["body"]["content"].startswith(f"⚠️ Cannot acknowledge #{incident_id}: #{incident_id} was already")
    assert await people_did(db, incident_id) == [("resolved", "Carol", "discord")]


async def test_a_stranger_in_a_direct_message_may_not_act(harness: Harness, db: Database) -> None:
    incident_id = await open_incident(db, "dm")
    click = component_interaction(f"ack_incident:{incident_id}", "1100000000000000444", guild=False)
    assert (await harness.interact(click))[0] == 200
    (told,) = await harness.followups(1)
    assert "Not allowed" in told["body"]["content"] and await people_did(db, incident_id) == []
    mine = component_interaction(f"ack_incident:{incident_id}", ALICE_DISCORD, guild=False, token="t-alice")
    await harness.interact(mine)
    assert await wait_for_people(db, incident_id, 1) == [("acknowledged", "alice", "discord")]


async def test_slash_commands_answer_privately_through_the_chat_core(harness: Harness, db: Database) -> None:
    incident_id = await open_incident(db, "cmd")
    assert await harness.interact(command_interaction("list", {}, ALICE_DISCORD)) == (
        200, {"type": 5, "data": {"flags": 64}}
    )
    await harness.followups(1)
    commands = [("ack", {"id": incident_id}), ("resolve", {"id": incident_id, "note": "rolled back"}),
                ("oncall", {}), ("ack", {"id": "¹"})]
    for number, (sub, options) in enumerate(commands, start=2):
        await harness.interact(command_interaction(sub, options, ALICE_DISCORD))
        await harness.followups(number)
    answers = [f["body"]["content"] for f in harness.api.followups]
    assert all(f["method"] == "PATCH" for f in harness.api.followups)
    assert answers[0].startswith("**1 open incident**")
    assert answers[1].startswith(f"👀 Acknowledged [#{incident_id} ")
    assert answers[2].startswith("✅ Resolved [")
    assert answers[3] == "No on-call schedules are configured."
    assert answers[4].startswith("⚠️ \\`¹\\` is not an incident number")
    assert await people_did(db, incident_id) == [("acknowledged", "alice", "discord"), ("resolved", "alice", "discord")]
    assert await note_texts(db, incident_id) == ["rolled back"]


async def test_start_registers_the_incident_command(harness: Harness) -> None:
    await harness.transport.start()
    await eventually(lambda: _enough(harness.api.commands, 1), 10, "the /incident command")
    (command,) = harness.api.commands
    assert command["name"] == "incident"
    assert [o["name"] for o in command["options"]] == ["list", "ack", "resolve", "oncall", "override"]


@dataclass
class Delivery:
    kind: str
    target: str | None = None
    external_ref: str | None = None


async def test_open_posts_buttons_and_update_edits_the_same_message(discord: DiscordApi) -> None:
    client = DiscordClient(settings_for(discord))
    channel = DiscordChannel(client, settings_for(discord), {"alice": "Alice Example"})
    try:
        opened = await channel.send(Delivery("open"), make_incident(), [make_event("opened")])
        assert opened.ok and opened.external_ref is not None and opened.external_ref.startswith(f"{CHANNEL}:")
        posted = discord.message(opened.external_ref)
        assert [b["custom_id"] for b in posted["components"][0]["components"]] == [
            "ack_incident:42", "resolve_incident:42", "silence_incident:42"]
        acked = make_incident(status=Status.ACKNOWLEDGED, acknowledged_by="alice")
        updated = await channel.send(Delivery("update", external_ref=opened.external_ref), acked,
                                     [make_event("acknowledged", actor="alice", source="slack")])
        assert updated.ok and len(discord.messages) == 1
        edited = discord.message(opened.external_ref)
        assert edited["embeds"][0]["fields"][0]["value"] == "👀 Acknowledged by Alice Example"
        direct = await channel.send(Delivery("open", f"user:{ALICE_DISCORD}"), make_incident(), [])
        assert direct.ok and discord.dms[ALICE_DISCORD] == direct.external_ref.split(":")[0]  # type: ignore[union-attr]
        call = discord.calls_to("POST", "/channels/")[0]
        assert call.headers["Authorization"] == f"Bot {TOKEN}"
    finally:
        await client.close()


async def test_refusals_rate_limits_and_outages_become_results_for_the_outbox(discord: DiscordApi) -> None:
    client = DiscordClient(settings_for(discord))
    channel = DiscordChannel(client, settings_for(discord))
    try:
        lost = await channel.send(Delivery("update", external_ref=f"{CHANNEL}:999"), make_incident(), [])
        assert not lost.ok and "HTTP 404" in (lost.error or "")
        assert not (await channel.send(Delivery("open", "1100000000000000555"), make_incident(), [])).ok  # unknown
        discord.fail_next(1, 429, retry_after=2.5)
        limited = await channel.send(Delivery("open"), make_incident(), [])
        assert not limited.ok and limited.retry_after == 2.5
        calls = len(discord.calls)
        held = await channel.send(Delivery("open"), make_incident(), [])  # the route waits: Discord is not called
        assert not held.ok and 0 < (held.retry_after or 0) <= 2.5 and len(discord.calls) == calls
        other = await channel.send(Delivery("open", f"user:{ALICE_DISCORD}"), make_incident(), [])
        assert other.ok  # another route (a DM) is not held by this route's limit
        discord.fail_next(1, 429, retry_after=3, global_=True)
        assert (await channel.send(Delivery("open", f"user:{ALICE_DISCORD}"), make_incident(), [])).retry_after == 3
        everywhere = await channel.send(Delivery("open", "1100000000000000556"), make_incident(), [])
        assert not everywhere.ok and everywhere.retry_after is not None  # a global limit holds every route
        client.limits.until.clear()
        discord.fail_next(1, 500)
        broken = await channel.send(Delivery("open"), make_incident(), [])
        assert not broken.ok and broken.retry_after is None and "HTTP 500" in (broken.error or "")
    finally:
        await client.close()
    wrong = DiscordClient(settings_for(discord, token="x" * 60))
    try:
        refused = await DiscordChannel(wrong, settings_for(discord)).send(Delivery("open"), make_incident(), [])
        assert not refused.ok and "HTTP 401" in (refused.error or "")
    finally:
        await wrong.close()
