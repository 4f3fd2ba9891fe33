"""Socket Mode (SLACK_APP_TOKEN): the same listeners over a WebSocket from the stand-in, no HTTP endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest

from bot.slack.app import SlackTransport, SocketMode, build_bolt_app
from bot.slack.settings import SlackSettings
from store.domain.incident import ActionSource
from tests.support.slack_api import SlackApi, wait_until
from tests.support.slack_payloads import USERS, RecordingActions, click_body, command_body

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test"


@pytest.fixture
async def socket() -> AsyncIterator[tuple[SlackApi, RecordingActions]]:
    slack = await SlackApi(token=TOKEN, app_token=APP_TOKEN).start()
    settings = SlackSettings(bot_token=TOKEN, app_token=APP_TOKEN, api_url=slack.api_url)
    actions = RecordingActions()
    mode = SocketMode(build_bolt_app(settings, actions, USERS), settings)
    await mode.start()
    assert await wait_until(lambda: bool(slack.sockets), slack.changed)
    yield slack, actions
    await mode.stop()
    await slack.stop()


async def test_connects_with_the_app_token_and_handles_a_command(socket: tuple[SlackApi, RecordingActions]) -> None:
    slack, actions = socket
    assert slack.calls_to("apps.connections.open")[0].token == APP_TOKEN
    payload = dict(parse_qsl(command_body("ack 42", slack.response_url()).decode()))
    await slack.socket_send(
        {"envelope_id": "env-1", "type": "slash_commands", "payload": payload, "accepts_response_payload": True}
    )
    assert await wait_until(lambda: bool(slack.responses) and bool(slack.socket_acks), slack.changed)
    assert slack.socket_acks[0]["envelope_id"] == "env-1"
    assert actions.calls == [("acknowledge", 42, "alice", ActionSource.SLACK)]
    assert slack.responses[0]["text"].startswith(":eyes: Acknowledged")


async def test_handles_a_button_click(socket: tuple[SlackApi, RecordingActions]) -> None:
    slack, actions = socket
    payload = json.loads(dict(parse_qsl(click_body("resolve_incident", "7", slack.response_url()).decode()))["payload"])
    await slack.socket_send({"envelope_id": "env-2", "type": "interactive", "payload": payload})
    assert await wait_until(lambda: bool(slack.socket_acks), slack.changed)
    assert await wait_until(lambda: bool(actions.calls), actions.changed)
    assert slack.socket_acks[0]["envelope_id"] == "env-2"
    assert actions.calls == [("resolve", 7, "alice", ActionSource.SLACK, None)]


async def test_transport_serves_http_events_or_socket_mode_never_both() -> None:
    slack = await SlackApi(token=TOKEN, app_token=APP_TOKEN).start()
    try:
        http = SlackTransport(
            SlackSettings(bot_token=TOKEN, signing_secret="s", api_url=slack.api_url), RecordingActions()
        )
        assert http.socket is None and http.blueprint() is not None
        await http.start()
        assert slack.calls == []
        settings = SlackSettings(bot_token=TOKEN, app_token=APP_TOKEN, api_url=slack.api_url)
        socket = SlackTransport(settings, RecordingActions(), USERS)
        assert socket.blueprint() is None and socket.channel.names == {"alice": "Alice Example", "bob": "Bob"}
        await socket.start()
        assert await wait_until(lambda: bool(slack.sockets), slack.changed)
        await socket.stop()
        assert await wait_until(lambda: not slack.sockets, slack.changed)
    finally:
        await slack.stop()
