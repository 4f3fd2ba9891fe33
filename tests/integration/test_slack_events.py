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
from store.db import Database
from tests.support.chat_core import RecordingSilencer, core_on, people_did, wait_for_people
from tests.support.incidents import open_incident
from tests.support.slack_api import SlackApi, signed_headers, slack_signature, wait_until
from tests.support.slack_payloads import USERS, click_body, command_body

TOKEN = "xoxb-test-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PUBLIC = "https://tocsin.example.com"
WAIT = 10.0  # upper bound for background listener work; never reached when things work


class Harness:
    """The Quart app with the Slack blueprint, the stand-in and the chat core on this test's database."""

    def __init__(self, app: Quart, slack: SlackApi, db: Database) -> None:
        self.client = app.test_client()
        self.slack = slack
        self.db = db

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        response = await self.client.post(EVENTS_PATH, data=body, headers=headers)
        return response.status_code, await response.get_data()

    async def command(self, text: str, user: str = "U01ALICE", name: str = "alice.e") -> int:
        body = command_body(text, self.slack.response_url(), user, name)
        status, _ = await self.post(body, signed_headers(SECRET, body))
        return status

    async def click(self, action_id: str, value: object, user: str = "U01ALICE") -> int:
        body = click_body(action_id, str(value), self.slack.response_url(), user)
        status, _ = await self.post(body, signed_headers(SECRET, body))
        return status

    async def replies(self, count: int) -> list[str]:
        """The first `count` ephemeral replies sent to response URLs (waits for listeners finishing after ack)."""
        await wait_until(lambda: len(self.slack.responses) >= count, self.slack.changed, WAIT)
        assert all(r["response_type"] == "ephemeral" for r in self.slack.responses)
        return [r["text"] for r in self.slack.responses[:count]]


@pytest.fixture
async def harness(db: Database) -> AsyncIterator[Harness]:
    slack = await SlackApi(token=TOKEN, members={"U09CAROL": {"display_name": "carol", "name": "c"}}).start()
    settings = SlackSettings(
        bot_token=TOKEN,
        signing_secret=SECRET,
        api_url=slack.api_url,
        public_url=PUBLIC,
        alertmanager_url="http://am:9093",
    )
    app = Quart("slack-test")
    app.register_blueprint(events_blueprint(build_bolt_app(settings, core_on(db, RecordingSilencer()), USERS)))
    async with app.test_app():
        yield Harness(app, slack, db)
    await slack.stop()


SLACK = "slack"


@pytest.mark.parametrize(
    ("action_id", "expected"),
    [
        ("ack_incident", ("acknowledged", "alice", SLACK)),
        ("resolve_incident", ("resolved", "alice", SLACK)),
        ("silence_incident", ("silenced", "alice", SLACK)),
    ],
)
async def test_button_click_reaches_the_store_as_the_config_user(
    harness: Harness, db: Database, action_id: str, expected: tuple[str, str, str]
) -> None:
    incident_id = await open_incident(db, "click")
    assert await harness.click(action_id, incident_id) == 200
    assert await wait_for_people(db, incident_id, 1) == [expected]
    assert harness.slack.calls_to("auth.test")[0].token == TOKEN
    assert harness.slack.responses == []  # success shows in the message itself, not as a reply


async def test_workspace_member_outside_the_config_acts_under_their_slack_name(harness: Harness, db: Database) -> None:
    incident_id = await open_incident(db, "carol")
    assert await harness.click("ack_incident", incident_id, user="U09CAROL") == 200
    assert await wait_for_people(db, incident_id, 1) == [("acknowledged", "carol", SLACK)]
    assert harness.slack.calls_to("users.info")[0].args["user"] == "U09CAROL"


async def test_member_unknown_to_users_info_is_recorded_by_the_name_in_the_request(
    harness: Harness, db: Database
) -> None:
    incident_id = await open_incident(db, "ghost")
    assert await harness.click("ack_incident", incident_id, user="U0GHOST") == 200
    assert await wait_for_people(db, incident_id, 1) == [("acknowledged", "someone", SLACK)]


async def test_member_named_like_a_config_user_is_not_taken_for_them(harness: Harness, db: Database) -> None:
    harness.slack.members["U0FAKEBOB"] = {"display_name": "Bob"}
    incident_id = await open_incident(db, "fakebob")
    await harness.click("resolve_incident", incident_id, user="U0FAKEBOB")
    assert await wait_for_people(db, incident_id, 1) == [("resolved", "Bob (U0FAKEBOB)", SLACK)]


async def test_ack_answers_before_a_slow_database(harness: Harness, db: Database) -> None:
    incident_id = await open_incident(db, "slow")
    async with db.transaction() as conn:  # another transaction holds the incident's row: the ack must wait for it
        await conn.execute("SELECT id FROM incidents WHERE id = $1 FOR UPDATE", incident_id)
        # Bounded: were the answer held until the action finishes, this would time out instead of hanging.
        assert await asyncio.wait_for(harness.click("ack_incident", incident_id), WAIT) == 200
        assert await people_did(db, incident_id) == []
    assert await wait_for_people(db, incident_id, 1) == [("acknowledged", "alice", SLACK)]


@pytest.mark.parametrize(
    ("text", "expected", "reply"),
    [
        ("ack {id}", ("acknowledged", "alice", SLACK), ":eyes: Acknowledged <https://tocsin.example.com/incidents/{id}|"),
        ("resolve {id} rolled back", ("resolved", "alice", SLACK), ":white_check_mark: Resolved <"),
        ("silence {id} 2h", ("silenced", "alice", SLACK), "> for 2h"),
        ("note {id} looking at <it>", ("note", "alice", SLACK), ":rotating_light: Noted on <"),
    ],
)
async def test_each_incident_subcommand_reaches_the_store_and_answers_the_person(
    harness: Harness, db: Database, text: str, expected: tuple[str, str, str], reply: str
) -> None:
    incident_id = await open_incident(db, "command")
    assert await harness.command(text.format(id=incident_id)) == 200
    assert await wait_for_people(db, incident_id, 1) == [expected]
    (answer,) = await harness.replies(1)
    assert reply.format(id=incident_id) in answer


async def test_list_oncall_and_new_answer_the_person(harness: Harness, db: Database) -> None:
    for group in ("a", "b"):
        await open_incident(db, group)
    await harness.command("list")
    assert (await harness.replies(1))[0].startswith("*2 open incidents*")
    await harness.command("oncall")
    assert (await harness.replies(2))[1] == "No on-call schedules are configured."
    await harness.command("new DB <down>")
    opened = (await harness.replies(3))[2]
    assert opened.startswith(":rotating_light: Opened <https://tocsin.example.com/incidents/")
    assert opened.endswith(" DB &lt;down&gt;>")


@pytest.mark.parametrize("text", ["", "help", "dance"])
async def test_help_and_unknown_subcommands_show_the_help(harness: Harness, text: str) -> None:
    assert await harness.command(text) == 200
    (answer,) = await harness.replies(1)
    assert "`/incident ack ID`" in answer and "`/incident silence ID [duration]`" in answer
    assert "`/incident snooze ID [duration]`" in answer and '`/incident maintenance 2h service="db"`' in answer


async def test_snooze_unack_and_maintenance_subcommands_answer_the_person(harness: Harness, db: Database) -> None:
    incident_id = await open_incident(db, "snooze")
    await harness.command(f"snooze {incident_id} 30m")
    assert "> for 30m, until " in (await harness.replies(1))[0]
    await harness.command(f"unack {incident_id}", "U09CAROL", "carol")
    assert (await harness.replies(2))[1].startswith(":rotating_light: Unacknowledged <")
    await harness.command(f"escalate {incident_id}")
    assert (await harness.replies(3))[2] == f":warning: Cannot escalate #{incident_id}: its route has no escalation " \
                                           "policy."
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT kind, actor, source FROM incident_events WHERE incident_id = $1 AND kind IN "
                                "('snoozed', 'unacknowledged') ORDER BY id", incident_id)
    assert [tuple(r) for r in rows] == [("snoozed", "alice", SLACK), ("unacknowledged", "carol", SLACK)]
    await harness.command('maintenance 2h service="db"')
    made = (await harness.replies(4))[3]
    assert made.startswith("Maintenance ") and made.endswith(": alerts it covers open incidents that do not page")
    await harness.command("maintenance list")
    assert (await harness.replies(5))[4].startswith("Maintenance windows:\nmw-")


async def test_mistyped_command_says_how_to_type_it(harness: Harness) -> None:
    await harness.command("resolve soon")
    (answer,) = await harness.replies(1)
    assert answer == ":warning: `soon` is not an incident number. Usage: `/incident resolve ID [note]`"


async def test_a_failed_click_is_explained_to_the_person_only(harness: Harness, db: Database) -> None:
    incident_id = await open_incident(db, "done")
    await harness.command(f"resolve {incident_id}")
    await harness.replies(1)
    assert await harness.click("ack_incident", incident_id) == 200
    answer = (await harness.replies(2))[1]
    assert answer.startswith(f":warning: Cannot acknowledge #{incident_id}: #{incident_id} was already resolved by ")
    assert harness.slack.responses[1]["replace_original"] is False
    await harness.click("resolve_incident", 999_999)
    assert (await harness.replies(3))[2] == ":warning: Incident #999999 does not exist."
    await harness.click("ack_incident", "12¹")
    assert (await harness.replies(4))[3] == ":warning: '12¹' is not an incident number (such as 42 or #42)."
    assert harness.slack.calls_to("chat.postMessage") == []


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
async def test_requests_not_signed_by_slack_are_refused_and_change_nothing(
    harness: Harness, db: Database, make_headers: Any
) -> None:
    incident_id = await open_incident(db, "forged")
    body = click_body("ack_incident", str(incident_id), harness.slack.response_url())
    status, _ = await harness.post(body, make_headers(body))
    assert status == 401
    command = command_body(f"ack {incident_id}", harness.slack.response_url())
    status, _ = await harness.post(command, make_headers(command))
    assert status == 401
    # A genuine request afterwards is answered; the forged ones changed nothing.
    assert await harness.command("oncall") == 200
    assert len(await harness.replies(1)) == 1 and len(harness.slack.responses) == 1
    assert await people_did(db, incident_id) == []


async def test_the_same_signed_request_within_five_minutes_is_accepted(harness: Harness) -> None:
    """Slack's scheme bounds replays by the timestamp only; Slack itself retries a request it thinks was lost."""
    body = command_body("list", harness.slack.response_url())
    headers = signed_headers(SECRET, body)
    assert [(await harness.post(body, headers))[0] for _ in range(2)] == [200, 200]
    assert await harness.replies(2) == [":relieved: No open incidents."] * 2


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
