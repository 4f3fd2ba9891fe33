"""Socket Mode (SLACK_APP_TOKEN): the same listeners over a WebSocket from the stand-in, no HTTP endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest

from bot.slack.app import SlackTransport, SocketMode, build_bolt_app
from bot.slack.settings import SlackSettings
from store.db import Database
from tests.support.chat_core import core_on, wait_for_people
from tests.support.incidents import open_incident
from tests.support.slack_api import SlackApi, wait_until
from tests.support.slack_payloads import USERS, click_body, command_body

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test"


@pytest.fixture
async def socket(db: Database) -> AsyncIterator[SlackApi]:
    slack = await SlackApi(token=TOKEN, app_token=APP_TOKEN).start()
    settings = SlackSettings(bot_token=TOKEN, app_token=APP_TOKEN, api_url=slack.api_url)
    mode = SocketMode(build_bolt_app(settings, core_on(db), USERS), settings)
    await mode.start()
    assert await wait_until(lambda: bool(slack.sockets), slack.changed)
    yield slack
    await mode.stop()
    await slack.stop()


async def test_connects_with_the_app_token_and_handles_a_command(socket: SlackApi, db: Database) -> None:
    slack = socket
    incident_id = await open_incident(db, "socket")
    assert slack.calls_to("apps.connections.open")[0].token == APP_TOKEN
    payload = dict(parse_qsl(command_body(f"ack {incident_id}", slack.response_url()).decode()))
    await slack.socket_send(
        {"envelope_id": "env-1", "type": "slash_commands", "payload": payload, "accepts_response_payload": True}
    )
    assert await wait_until(lambda: bool(slack.responses) and bool(slack.socket_acks), slack.changed)
    assert slack.socket_acks[0]["envelope_id"] == "env-1"
    assert await wait_for_people(db, incident_id, 1) == [("acknowledged", "alice", "slack")]
    assert slack.responses[0]["text"].startswith(":eyes: Acknowledged")


async def test_handles_a_button_click(socket: SlackApi, db: Database) -> None:
    slack = socket
    incident_id = await open_incident(db, "socket-click")
    body = click_body("resolve_incident", str(incident_id), slack.response_url())
    payload = json.loads(dict(parse_qsl(body.decode()))["payload"])
    await slack.socket_send({"envelope_id": "env-2", "type": "interactive", "payload": payload})
    assert await wait_until(lambda: bool(slack.socket_acks), slack.changed)
    assert slack.socket_acks[0]["envelope_id"] == "env-2"
    assert await wait_for_people(db, incident_id, 1) == [("resolved", "alice", "slack")]


async def test_transport_serves_http_events_or_socket_mode_never_both() -> None:
    slack = await SlackApi(token=TOKEN, app_token=APP_TOKEN).start()
    try:
        http = SlackTransport(
            SlackSettings(bot_token=TOKEN, signing_secret="s", api_url=slack.api_url), core_on(None)
        )
        assert http.socket is None and http.blueprint() is not None
        await http.start()
        assert slack.calls == []
        settings = SlackSettings(bot_token=TOKEN, app_token=APP_TOKEN, api_url=slack.api_url)
        socket = SlackTransport(settings, core_on(None), USERS)
        assert socket.blueprint() is None and socket.channel.names == {"alice": "Alice Example", "bob": "Bob"}
        await socket.start()
        assert await wait_until(lambda: bool(slack.sockets), slack.changed)
        await socket.stop()
        assert await wait_until(lambda: not slack.sockets, slack.changed)
    finally:
        await slack.stop()
