"""Hostile input through the real HTTP endpoints (valid token, signatures and secret, so the parsers are reached):
hypothesis fuzzes the Alertmanager webhook, Slack's events and Telegram's updates; oversized and deeply nested
bodies. Nothing may crash (no 5xx, no traceback in the log, also from background handlers)."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import load_sample
from tests.support.chat_stack import MATTERMOST_SECRET
from tests.support.discord_api import command_interaction, component_interaction
from tests.support.hostile_app import MAX_BYTES, HostileApp, hostile_app
from tests.support.mattermost_api import command_form
from tests.support.slack_payloads import click_body, command_body
from tests.support.telegram_api import callback_update, message_update, user_json
from tests.support.waiting import wait_for

pytestmark = pytest.mark.faults
# 60 examples per test keep the suite quick; TOCSIN_FUZZ_EXAMPLES=2000 runs a longer fuzz by hand.
FUZZ = settings(
    max_examples=int(os.environ.get("TOCSIN_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SAMPLE = load_sample("01_firing_group_2alerts_amtool.json")

# Text with what breaks renderers and databases: markup, control characters, NUL, lone surrogates excluded
# (JSON cannot carry them as UTF-8), right-to-left overrides, very long words.
HOSTILE_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["<", ">", "&", "*", "_", "`", "~", "|", "\x00", "\x1b", "\u202e", "\n", '"', "\\"]),
    ),
    max_size=80,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=20,
)
SAMPLE_KEYS = ["version", "groupKey", "status", "receiver", "groupLabels", "commonLabels", "alerts", "externalURL"]
ALERT_KEYS = ["status", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "generatorURL"]


@pytest.fixture(scope="module")
def app(postgres: Any) -> Iterator[HostileApp]:
    import asyncio

    url = asyncio.run(postgres.fresh_database())
    with hostile_app(url) as running:
        yield running
    asyncio.run(postgres.drop(url))


@st.composite
def mutated_sample(draw: st.DrawFn) -> dict[str, Any]:
    """A real Alertmanager body with some top-level and per-alert fields replaced by anything."""
    body = copy.deepcopy(SAMPLE)
    for key in draw(st.lists(st.sampled_from(SAMPLE_KEYS), max_size=3)):
        body[key] = draw(JSON)
    if isinstance(body.get("alerts"), list):
        for alert in body["alerts"]:
            if isinstance(alert, dict):
                for key in draw(st.lists(st.sampled_from(ALERT_KEYS), max_size=3)):
                    alert[key] = draw(JSON)
                alert["labels"] = draw(st.dictionaries(HOSTILE_TEXT, HOSTILE_TEXT, max_size=3)) or alert.get("labels")
    return body


@pytest.fixture(autouse=True)
def _fresh_error_log(app: HostileApp) -> None:
    """Each test answers for its own crashes only."""
    app.errors.crashes.clear()


def no_crash(app: HostileApp, status: int, body: bytes) -> None:
    assert status < 500, body[:500]
    app.settle()  # handlers that run after the answer (Slack's listeners, Telegram's updates) have finished
    assert not app.errors.crashes, app.errors.crashes[0]


@FUZZ
@given(body=st.one_of(mutated_sample(), JSON))
def test_webhook_fuzz(app: HostileApp, body: Any) -> None:
    app.errors.crashes.clear()  # each example answers for its own
    status, answer = app.webhook(json.dumps(body).encode())
    no_crash(app, status, answer)
    assert status in (200, 400, 422), answer[:300]


@FUZZ
@given(raw=st.binary(max_size=200))
def test_webhook_fuzz_raw_bytes(app: HostileApp, raw: bytes) -> None:
    app.errors.crashes.clear()  # each example answers for its own
    status, answer = app.webhook(raw)
    no_crash(app, status, answer)


@FUZZ
@given(text=HOSTILE_TEXT, action=st.sampled_from(["ack_incident", "resolve_incident", "silence_incident", "x"]),
       value=HOSTILE_TEXT, payload=JSON)
def test_slack_fuzz(app: HostileApp, text: str, action: str, value: str, payload: Any) -> None:
    app.errors.crashes.clear()  # each example answers for its own
    response_url = app.world.slack.response_url()
    for body in (
        command_body(text, response_url),
        command_body("ack " + text, response_url),
        command_body("resolve 1 " + text, response_url),
        command_body("new " + text, response_url),
        click_body(action, value, response_url),
        urlencode({"payload": json.dumps(payload)}).encode(),
        json.dumps(payload).encode(),
    ):
        status, answer = app.slack(body)
        no_crash(app, status, answer)


@FUZZ
@given(text=HOSTILE_TEXT, data=HOSTILE_TEXT, update=JSON, update_id=st.integers(1, 2**31))
def test_telegram_fuzz(app: HostileApp, text: str, data: str, update: Any, update_id: int) -> None:
    app.errors.crashes.clear()  # each example answers for its own
    alice = user_json(111111)
    for candidate in (
        {"update_id": update_id, **message_update("/ack " + text, -1001, alice)},
        {"update_id": update_id, **message_update("/resolve 1 " + text, -1001, alice)},
        {"update_id": update_id, **message_update(text, -1001, alice)},
        {"update_id": update_id, **callback_update(data, -1001, alice)},
        {"update_id": update_id, "message": update},
        update,
    ):
        status, answer = app.telegram(candidate)
        no_crash(app, status, answer)


@FUZZ
@given(text=HOSTILE_TEXT, custom_id=HOSTILE_TEXT, payload=JSON, options=JSON, incident=st.integers(-5, 2**64))
def test_discord_fuzz(app: HostileApp, text: str, custom_id: str, payload: Any, options: Any, incident: int) -> None:
    app.errors.crashes.clear()  # each example answers for its own
    for candidate in (
        component_interaction(custom_id, "1100000000000000999", text or "x"),
        component_interaction(f"ack_incident:{custom_id}", "1100000000000000999"),
        command_interaction("ack", {"id": incident}, "1100000000000000999", token=text or "t"),
        command_interaction("resolve", {"id": text, "note": payload}, "1100000000000000999"),
        {**command_interaction("list", {}, "1100000000000000999"), "data": options},
        {**component_interaction("ack_incident:1", "1"), "member": payload, "user": options},
        payload,
    ):
        status, answer = app.discord(candidate)
        no_crash(app, status, answer)
        assert status in (200, 400), answer[:300]
    body = json.dumps(component_interaction("ack_incident:1", "1100000000000000999")).encode()
    header = "".join(c for c in text if c.isascii() and c.isprintable())  # what an HTTP header can carry
    status, answer = app.post("/discord/interactions", body,
                              {"X-Signature-Ed25519": header, "X-Signature-Timestamp": header})
    assert status == 401, answer[:300]


@FUZZ
@given(text=HOSTILE_TEXT, context=JSON, payload=JSON, incident=st.one_of(st.integers(), HOSTILE_TEXT))
def test_mattermost_fuzz(app: HostileApp, text: str, context: Any, payload: Any, incident: Any) -> None:
    app.errors.crashes.clear()  # each example answers for its own
    secret = {"secret": MATTERMOST_SECRET}
    for candidate in (
        {"user_id": text, "user_name": text, "context": {**secret, "action": text, "incident_id": incident}},
        {"user_id": "u" * 26, "context": {**secret, "action": "ack", "incident_id": incident}},
        {"user_id": payload, "user_name": context, "context": {**secret, "action": "resolve", "incident_id": 1}},
        {"context": context}, payload,
    ):
        status, answer = app.mattermost_action(candidate)
        no_crash(app, status, answer)
        assert status in (200, 400, 401), answer[:300]
    for form in (command_form(text, "u" * 26, text), command_form("resolve 1 " + text, text, "bob"),
                 command_form("ack " + text, "u" * 26, "x", token=text), text.encode()):
        status, answer = app.mattermost_command(form)
        no_crash(app, status, answer)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_oversized_and_deeply_nested_bodies_are_refused_cleanly(app: HostileApp) -> None:
    big = json.dumps({**SAMPLE, "padding": "x" * (MAX_BYTES + 1)}).encode()
    assert app.webhook(big)[0] == 413
    huge = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    assert app.slack(huge)[0] == 413
    tg_headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "hostile-telegram-secret"}
    assert app.post("/telegram/webhook", huge, tg_headers)[0] == 413
    for depth in (1000, 30000):  # 30000 levels: 60 kB, under WEBHOOK_MAX_BYTES
        # 1,000 levels is JSON the parser reads (then refused as not an Alertmanager body), 30,000 is not.
        assert app.webhook(nested(depth))[0] == (422 if depth == 1000 else 400)
        status, _ = app.post("/telegram/webhook", nested(depth), tg_headers)
        assert status == 400
        status, answer = app.slack(urlencode({"payload": nested(depth).decode()}).encode())
        no_crash(app, status, answer)
        assert app.post("/discord/interactions", *app.world.discord.signed_bytes(nested(depth)))[0] == 400
        assert app.post("/mattermost/actions", nested(depth), {"Content-Type": "application/json"})[0] == 400
    assert app.post("/discord/interactions", *app.world.discord.signed_bytes(huge))[0] == 413
    assert app.post("/mattermost/actions", huge, {"Content-Type": "application/json"})[0] == 413
    assert app.post("/mattermost/command", huge, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 413
    deep_labels = copy.deepcopy(SAMPLE)
    deep_labels["alerts"][0]["labels"] = json.loads(nested(500))
    status, answer = app.webhook(json.dumps(deep_labels).encode())
    no_crash(app, status, answer)
    no_crash(app, 200, b"")


HOSTILE_SUMMARY = (
    "<script>alert(1)</script> *bold* _it_ `code` <!channel> <@U0BOSS> &amp; \x07\x1b[31m\u202eevil"
    "\r\nBcc: evil@example.com"
)
HOSTILE_LABEL = '<b>x</b> <a href="javascript:alert(1)">y</a> [z](http://evil) *~|\x00'


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn text in Block Kit blocks."""
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    found = [node["text"]] if node.get("type") == "mrkdwn" else []
    return found + [t for value in node.values() for t in mrkdwn_texts(value)]


def test_markup_and_control_characters_in_labels_render_safely_everywhere(app: HostileApp) -> None:
    body = copy.deepcopy(SAMPLE)
    body["groupKey"] = '{}:{alertname="HostileRender"}'
    for alert in body["alerts"]:
        alert["labels"]["team"] = HOSTILE_LABEL
        alert["annotations"]["summary"] = HOSTILE_SUMMARY
    body["commonLabels"]["team"] = HOSTILE_LABEL
    body["commonAnnotations"] = {"summary": HOSTILE_SUMMARY}
    status, answer = app.webhook(json.dumps(body).encode())
    assert status == 200, answer
    [incident_id] = json.loads(answer)["incidents"]
    slack, telegram, smtp = app.world.slack, app.world.telegram, app.world.smtp

    def posted() -> list[dict[str, Any]]:
        return [m for m in slack.messages.values() if f'"value": "{incident_id}"' in json.dumps(m["blocks"])]

    [message] = wait_for(posted, 20, "the Slack message")
    mrkdwn = json.dumps([message["text"], *mrkdwn_texts(message["blocks"])])  # plain_text shows markup literally
    for raw in ("<script>", "<!channel>", "<@U0BOSS>", "<b>", "<a href"):
        assert raw not in mrkdwn  # Slack would render these as markup, mentions or links
    assert "&lt;script&gt;" in mrkdwn and "&lt;!channel&gt;" in mrkdwn and "&lt;b&gt;x" in mrkdwn

    sent = wait_for(lambda: [m for m in telegram.messages.values() if f"ack:{incident_id}" in json.dumps(m)], 20,
                    "the Telegram message")
    text = sent[0]["text"]  # the stand-in refused it (400) unless it parsed as Telegram's HTML
    assert "<script>" not in text and "&lt;script&gt;" in text and "javascript" not in text.split("&lt;a href")[0]

    mail = wait_for(lambda: [r for r in smtp.received if f"#{incident_id}" in r.message["Subject"]], 20, "the email")
    html = mail[0].message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html and 'href="javascript' not in html
    assert mail[0].message["Bcc"] is None and mail[0].recipients == ["ops@example.com"]  # no header injection

    status, document = app.get(f"/api/v1/incidents/{incident_id}")
    assert status == 200
    assert document["alerts"][0]["annotations"]["summary"] == HOSTILE_SUMMARY  # the API returns what was sent
    no_crash(app, 200, b"")
    assert document["labels"]["team"] == HOSTILE_LABEL.replace("\x00", "\ufffd")  # PostgreSQL cannot store U+0000


def test_nul_characters_typed_in_chat_are_stored_as_the_replacement_character(app: HostileApp) -> None:
    slack = app.world.slack
    before = len(slack.responses)
    status, _ = app.slack(command_body("new Disk\x00full", slack.response_url()))
    assert status == 200
    [reply] = wait_for(lambda: slack.responses[before:], 20, "the reply to /incident new")
    assert "Opened" in reply["text"] and "Disk\ufffdfull" in reply["text"], reply
    incident_id = int(reply["text"].split("|#")[1].split()[0])
    alice = user_json(111111)
    assert app.telegram({"update_id": 10**6, **message_update(f"/resolve {incident_id} done\x00", -1001, alice)})[0] \
        == 200
    wait_for(lambda: app.get(f"/api/v1/incidents/{incident_id}")[1]["status"] == "resolved", 20, "the resolve")
    no_crash(app, 200, b"")


def test_digits_that_are_not_ascii_are_refused_not_crashed_on(app: HostileApp) -> None:
    # "¹".isdigit() is true and int("¹") raises: found by the fuzz above in the incident-number parsers.
    slack, telegram = app.world.slack, app.world.telegram
    replies, sent = len(slack.responses), len(telegram.calls_to("sendMessage"))
    for text in ("ack ¹", "resolve ٣ done", "ack #²"):
        assert app.slack(command_body(text, slack.response_url()))[0] == 200
    assert app.slack(click_body("ack_incident", "¹", slack.response_url()))[0] == 200
    body = command_body("list", slack.response_url())
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": "¹",
               "X-Slack-Signature": "v0=00"}
    assert app.post("/slack/events", body, headers)[0] == 401
    alice = user_json(111111)
    for n, text in enumerate(("/ack ¹", "/resolve ٣ note")):
        assert app.telegram({"update_id": 5000 + n, **message_update(text, -1001, alice)})[0] == 200
    wait_for(lambda: len(slack.responses) >= replies + 4 and len(telegram.calls_to("sendMessage")) >= sent + 2, 20,
             "every command answered")
    assert all("not an incident number" in r["text"] or "names no incident" in r["text"]
               for r in slack.responses[replies:]), slack.responses[replies:]
    no_crash(app, 200, b"")
