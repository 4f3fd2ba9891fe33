"""POST /slack/events through bolt: signatures, button clicks, every slash subcommand, ephemeral errors."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Quart

from bot.slack.app import EVENTS_PATH, build_bolt_app, events_blueprint
from bot.slack.settings import SlackSettings
from store.domain.incident import ActionSource, InvalidTransition, Status
from store.sql.incidents import NotFound
from tests.support.slack_api import SlackApi, signed_headers, slack_signature, wait_until
from tests.support.slack_payloads import USERS, RecordingActions, click_body, command_body

TOKEN = "xoxb-test-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
WAIT = 10.0  # upper bound for background listener work; never reached when things work


class Harness:
    """The Quart app with the Slack blueprint, the stand-in and the recording actions."""

    def __init__(self, app: Quart, slack: SlackApi, actions: RecordingActions) -> None:
        self.client = app.test_client()
        self.slack = slack
        self.actions = actions

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        response = await self.client.post(EVENTS_PATH, data=body, headers=headers)
        return response.status_code, await response.get_data()

    async def command(self, text: str, user: str = "U01ALICE", name: str = "alice.e") -> int:
        body = command_body(text, self.slack.response_url(), user, name)
        status, _ = await self.post(body, signed_headers(SECRET, body))
        return status

    async def click(self, action_id: str, value: str = "42", user: str = "U01ALICE") -> int:
        body = click_body(action_id, value, self.slack.response_url(), user)
        status, _ = await self.post(body, signed_headers(SECRET, body))
        return status

    async def replies(self, count: int) -> list[str]:
        """The first `count` ephemeral replies sent to response URLs (waits for listeners finishing after ack)."""
        await wait_until(lambda: len(self.slack.responses) >= count, self.slack.changed, WAIT)
        assert all(r["response_type"] == "ephemeral" for r in self.slack.responses)
        return [r["text"] for r in self.slack.responses[:count]]

    async def calls(self, count: int) -> list[tuple[Any, ...]]:
        """The first `count` action calls."""
        await wait_until(lambda: len(self.actions.calls) >= count, self.actions.changed, WAIT)
        return self.actions.calls[:count]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    slack = await SlackApi(token=TOKEN, members={"U09CAROL": {"display_name": "carol", "name": "c"}}).start()
    settings = SlackSettings(
        bot_token=TOKEN,
        signing_secret=SECRET,
        api_url=slack.api_url,
        public_url="https://tocsin.example.com",
        alertmanager_url="http://am:9093",
    )
    actions = RecordingActions()
    app = Quart("slack-test")
    app.register_blueprint(events_blueprint(build_bolt_app(settings, actions, USERS)))
    async with app.test_app():
        yield Harness(app, slack, actions)
    await slack.stop()


SLACK = ActionSource.SLACK


@pytest.mark.parametrize(
    ("action_id", "expected"),
    [
        ("ack_incident", ("acknowledge", 42, "alice", SLACK)),
        ("resolve_incident", ("resolve", 42, "alice", SLACK, None)),
        ("silence_incident", ("silence", 42, 3600.0, "alice", SLACK)),
    ],
)
async def test_button_click_reaches_the_actions_as_the_config_user(
    harness: Harness, action_id: str, expected: tuple[Any, ...]
) -> None:
    assert await harness.click(action_id) == 200
    assert await harness.calls(1) == [expected]
    assert harness.slack.calls_to("auth.test")[0].token == TOKEN


async def test_workspace_member_outside_the_config_acts_under_their_slack_name(harness: Harness) -> None:
    assert await harness.click("ack_incident", user="U09CAROL") == 200
    assert await harness.calls(1) == [("acknowledge", 42, "carol", SLACK)]
    assert harness.slack.calls_to("users.info")[0].args["user"] == "U09CAROL"


async def test_member_unknown_to_users_info_is_recorded_by_the_name_in_the_request(harness: Harness) -> None:
    assert await harness.click("ack_incident", user="U0GHOST") == 200
    assert await harness.calls(1) == [("acknowledge", 42, "someone", SLACK)]


async def test_member_named_like_a_config_user_is_not_taken_for_them(harness: Harness) -> None:
    harness.slack.members["U0FAKEBOB"] = {"display_name": "Bob"}
    await harness.click("resolve_incident", user="U0FAKEBOB")
    assert await harness.calls(1) == [("resolve", 42, "Bob (U0FAKEBOB)", SLACK, None)]


async def test_ack_answers_before_a_slow_database(harness: Harness) -> None:
    harness.actions.gate = asyncio.Event()
    # Bounded: were the answer held until the action finishes, this would time out instead of hanging.
    assert await asyncio.wait_for(harness.click("ack_incident"), WAIT) == 200
    calls = await harness.calls(1)
    assert calls == [("acknowledge", 42, "alice", SLACK)] and not harness.actions.gate.is_set()
    harness.actions.gate.set()


@pytest.mark.parametrize(
    ("text", "expected_call", "reply"),
    [
        ("list", ("list_open",), "*2 open incidents*"),
        (
            "ack 42",
            ("acknowledge", 42, "alice", SLACK),
            ":eyes: Acknowledged <https://tocsin.example.com/incidents/42|",
        ),
        ("resolve 42 rolled back", ("resolve", 42, "alice", SLACK, "rolled back"), ":white_check_mark: Resolved"),
        ("silence 42 2h", ("silence", 42, 7200.0, "alice", SLACK), ":no_bell: Silenced #42 for 120 minutes."),
        ("oncall", ("oncall_text",), "*primary*: Alice Example until Mon 09:00"),
        (
            "new DB <down>",
            ("open_manual", "DB <down>", "alice", SLACK),
            "Opened <https://tocsin.example.com/incidents/44|#44 DB &lt;down&gt;>",
        ),
    ],
)
async def test_each_subcommand_reaches_the_actions_and_answers_the_person(
    harness: Harness, text: str, expected_call: tuple[Any, ...], reply: str
) -> None:
    assert await harness.command(text) == 200
    assert await harness.calls(1) == [expected_call]
    (answer,) = await harness.replies(1)
    assert reply in answer


@pytest.mark.parametrize("text", ["", "help", "dance"])
async def test_help_and_unknown_subcommands_show_the_help(harness: Harness, text: str) -> None:
    assert await harness.command(text) == 200
    (answer,) = await harness.replies(1)
    assert "`/incident ack ID`" in answer and "`/incident silence ID [duration]`" in answer
    assert harness.actions.calls == []


async def test_mistyped_command_says_how_to_type_it(harness: Harness) -> None:
    await harness.command("resolve soon")
    (answer,) = await harness.replies(1)
    assert answer == ":warning: `soon` is not an incident number. Usage: `/incident resolve ID [note]`"
    assert harness.actions.calls == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            InvalidTransition(42, "acknowledge", Status.RESOLVED),
            ":warning: Cannot acknowledge incident #42: it is resolved",
        ),
        (NotFound("incident #42 does not exist"), ":warning: Incident #42 does not exist"),
        (RuntimeError("boom"), ":warning: Could not acknowledge: an unexpected error occurred"),
    ],
)
async def test_a_failed_click_is_explained_to_the_person_only(
    harness: Harness, error: BaseException, expected: str
) -> None:
    harness.actions.fail = error
    assert await harness.click("ack_incident") == 200
    (answer,) = await harness.replies(1)
    assert answer.startswith(expected)
    assert harness.slack.responses[0]["replace_original"] is False
    assert harness.slack.calls_to("chat.postMessage") == []


async def test_a_failed_command_is_explained_too(harness: Harness) -> None:
    harness.actions.fail = InvalidTransition(7, "resolve", Status.RESOLVED, "by bob 3 minutes ago")
    await harness.command("resolve 7")
    assert await harness.replies(1) == [":warning: Cannot resolve incident #7: it is resolved (by bob 3 minutes ago)"]


def _stale(body: bytes) -> dict[str, str]:
    return signed_headers(SECRET, body, int(time.time()) - 6 * 60)


def _tampered(body: bytes) -> dict[str, str]:
    return signed_headers(SECRET, body + b"&text=resolve+42")


@pytest.mark.parametrize(
    "make_headers",
    [
        pytest.param(lambda body: {"Content-Type": "application/x-www-form-urlencoded"}, id="unsigned"),
        pytest.param(lambda body: signed_headers("not-the-secret", body), id="wrong-secret"),
        pytest.param(_tampered, id="body-changed-after-signing"),
        pytest.param(_stale, id="replayed-6-minutes-later"),
        pytest.param(
            lambda body: {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": "not-a-number",
                "X-Slack-Signature": slack_signature(SECRET, 0, body),
            },
            id="garbled-timestamp",
        ),
    ],
)
async def test_requests_not_signed_by_slack_are_refused_and_change_nothing(harness: Harness, make_headers: Any) -> None:
    body = click_body("ack_incident", "42", harness.slack.response_url())
    status, _ = await harness.post(body, make_headers(body))
    assert status == 401
    command = command_body("ack 42", harness.slack.response_url())
    status, _ = await harness.post(command, make_headers(command))
    assert status == 401
    # A genuine request afterwards is the only one that reaches the actions.
    assert await harness.command("oncall") == 200
    assert await harness.calls(1) == [("oncall_text",)]
    assert len(await harness.replies(1)) == 1
    assert harness.actions.calls == [("oncall_text",)] and len(harness.slack.responses) == 1


async def test_the_same_signed_request_within_five_minutes_is_accepted(harness: Harness) -> None:
    """Slack's scheme bounds replays by the timestamp only; Slack itself retries a request it thinks was lost."""
    body = command_body("list", harness.slack.response_url())
    headers = signed_headers(SECRET, body)
    assert [(await harness.post(body, headers))[0] for _ in range(2)] == [200, 200]
    assert await harness.calls(2) == [("list_open",), ("list_open",)]


def _json_headers(body: bytes) -> dict[str, str]:
    return {**signed_headers(SECRET, body), "Content-Type": "application/json"}


async def test_url_verification_challenge_is_answered(harness: Harness) -> None:
    """Slack checks the Event Subscriptions URL this way when the manifest is pasted."""
    body = json.dumps(
        {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    ).encode()
    status, answer = await harness.post(body, _json_headers(body))
    assert status == 200 and b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in answer


async def test_app_uninstalled_is_logged(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    event = {"type": "app_uninstalled", "event_ts": "1700000000.1"}
    envelope = {
        "token": "x",
        "team_id": "T0TOCSIN",
        "api_app_id": "A0TOCSIN",
        "event": event,
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": 1700000000,
    }
    body = json.dumps(envelope).encode()
    with caplog.at_level(logging.ERROR, logger="bot.slack.handlers"):
        status, _ = await harness.post(body, _json_headers(body))
        assert status == 200
    assert "Slack says app_uninstalled" in caplog.text
