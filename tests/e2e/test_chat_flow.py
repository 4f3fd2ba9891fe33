"""End to end: the real Alertmanager fires into a real `tocsin serve` with Slack, Telegram, Discord, Mattermost and
email on; people act by a signed Slack click, a Telegram button or a signed Discord interaction, and every channel
shows it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import alertmanager
from tests.support.alertmanager import Alertmanager
from tests.support.chat_stack import SLACK_TOKEN, ChatWorld, wait_for
from tests.support.discord_api import component_interaction
from tests.support.server import TocsinProcess
from tests.support.slack_api import signed_headers
from tests.support.slack_payloads import click_body
from tests.support.telegram_api import callback_update, user_json

pytestmark = pytest.mark.e2e
WEBHOOK_TOKEN = "e2e-webhook-token"
SIGNING_SECRET = "e2e-signing-secret"
TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TG_SECRET = "e2e-telegram-secret"
TG_CHAT = -1001
SLACK_CHANNEL = "C0E2EOPS"


@dataclass
class Stack:
    tocsin: TocsinProcess
    am: Alertmanager
    world: ChatWorld

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.tocsin.url + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def click(self, action_id: str, incident_id: int) -> int:
        """A block_actions click, signed with the signing secret exactly as Slack signs it."""
        body = click_body(action_id, str(incident_id), self.world.slack.response_url())
        return self.post("/slack/events", body, signed_headers(SIGNING_SECRET, body))

    def slack_calls(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.world.slack.calls_to(method)]

    def slack_updates(self, fragment: str) -> list[dict[str, Any]]:
        return [a for a in self.slack_calls("chat.update") if fragment in json.dumps(a)]

    def silences(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.am.url + "/api/v2/silences", timeout=5) as response:
            return json.loads(response.read())


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    if not alertmanager.available():
        pytest.fail("needs the real Alertmanager: apt-get install prometheus-alertmanager (or deselect: -m 'not e2e')")
    world = ChatWorld().start()
    tocsin = TocsinProcess({}, tmp_path / "tocsin.log")
    am = Alertmanager(tmp_path / "am", f"{tocsin.url}/api/v1/webhooks/alertmanager", WEBHOOK_TOKEN)
    tocsin.env.update(
        DATABASE_URL=database_url, WEBHOOK_TOKEN=WEBHOOK_TOKEN, PUBLIC_URL=tocsin.url, ALERTMANAGER_URL=am.url,
        SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_CHANNEL=SLACK_CHANNEL,
        SLACK_API_URL=world.slack.api_url,
        TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_WEBHOOK_SECRET=TG_SECRET, TELEGRAM_CHAT_ID=str(TG_CHAT),
        TELEGRAM_API_URL=world.telegram.url,
        EMAIL_SMTP_HOST="127.0.0.1", EMAIL_SMTP_PORT=str(world.smtp.port), EMAIL_TLS="none",
        EMAIL_FROM="tocsin@example.com", EMAIL_TO="ops@example.com", **world.env(),
    )
    for name in [k for k in tocsin.env if k.startswith("TOCSIN_")]:
        del tocsin.env[name]
    # The people clicking here are members of the chats, no config users: let them act.
    (tmp_path / "tocsin.yml").write_text("chat_strangers: act\n")
    tocsin.env["TOCSIN_CONFIG"] = str(tmp_path / "tocsin.yml")
    try:
        tocsin.start()
        am.start()
        yield Stack(tocsin, am, world)
    finally:
        am.stop()
        tocsin.stop()
        world.stop()


def fire(am: Alertmanager, alertname: str) -> dict[str, str]:
    labels = {"alertname": alertname, "service": "checkout", "instance": "web-1", "severity": "critical"}
    am.fire(labels, datetime.now(UTC) - timedelta(seconds=5), {"summary": f"{alertname} <p99> & more"})
    return labels


def posted_incident(stack: Stack, alertname: str) -> tuple[int, dict[str, Any]]:
    """The incident id on the buttons of the Slack message about this alert, and the message's call."""
    def find() -> tuple[int, dict[str, Any]] | None:
        for args in stack.slack_calls("chat.postMessage"):
            if "thread_ts" in args or alertname not in json.dumps(args):
                continue
            buttons = [e for b in args.get("blocks", []) if b.get("type") == "actions" for e in b["elements"]]
            if buttons:
                return int(buttons[0]["value"]), args
        return None

    return wait_for(find, what=f"a Slack message about {alertname}")


def action_ids(args: dict[str, Any]) -> set[str]:
    return {e["action_id"] for b in args.get("blocks", []) if b.get("type") == "actions" for e in b["elements"]}


def test_slack_click_acknowledges_alertmanager_resolves_and_the_silence_button_silences(stack: Stack) -> None:
    labels = fire(stack.am, "E2ESlackLatency")
    incident_id, message = posted_incident(stack, "E2ESlackLatency")
    assert message["channel"] == SLACK_CHANNEL
    assert action_ids(message) == {"ack_incident", "resolve_incident", "silence_incident"}

    assert stack.click("ack_incident", incident_id) == 200
    acked = wait_for(lambda: stack.slack_updates("Acknowledged"), what="chat.update showing the acknowledgement")
    assert acked[0]["channel"] == SLACK_CHANNEL
    # The thread line is posted right after the edit: wait for it too.
    calls = stack.slack_calls
    wait_for(lambda: [a for a in calls("chat.postMessage") if "thread_ts" in a and "Acknowledged" in a["text"]],
             what="a thread line about the acknowledgement")

    stack.am.resolve(labels, datetime.now(UTC) - timedelta(seconds=5))
    wait_for(lambda: stack.slack_updates("Resolved") or stack.slack_updates("RESOLVED"),
             what="chat.update showing the resolution")

    silenced_labels = fire(stack.am, "E2ESlackDisk")
    other_id, _ = posted_incident(stack, "E2ESlackDisk")
    assert other_id != incident_id
    assert stack.click("silence_incident", other_id) == 200
    silence = wait_for(
        lambda: [s for s in stack.silences() if s["comment"] == f"Tocsin incident #{other_id}"],
        what="Alertmanager to list the silence",
    )[0]
    assert silence["status"]["state"] == "active"
    assert {m["name"]: m["value"] for m in silence["matchers"]} == silenced_labels
    wait_for(lambda: stack.slack_updates("ilenced"), what="chat.update showing the silence")
    assert stack.world.slack.responses == []  # nobody was told of an error


def test_telegram_button_acknowledges_and_slack_and_email_show_it(stack: Stack) -> None:
    fire(stack.am, "E2ETelegramQueue")
    incident_id, _ = posted_incident(stack, "E2ETelegramQueue")
    sent = wait_for(lambda: [c for c in stack.world.telegram.calls_to("sendMessage")
                             if f"ack:{incident_id}" in json.dumps(c.params)], what="the Telegram message")[0]
    assert str(sent.params["chat_id"]) == str(TG_CHAT)
    keyboard = json.dumps(sent.params["reply_markup"])
    assert all(f"{a}:{incident_id}" in keyboard for a in ("ack", "resolve", "silence"))
    assert "&lt;p99&gt; &amp; more" in sent.params["text"]
    wait_for(lambda: stack.world.smtp.received, what="the email of the new incident")

    message_id = max(mid for (chat, mid) in stack.world.telegram.messages if chat == TG_CHAT)
    update = {"update_id": 1, **callback_update(f"ack:{incident_id}", TG_CHAT, user_json(111111), message_id)}
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    assert stack.post("/telegram/webhook", json.dumps(update).encode(), headers) == 200

    answered = wait_for(lambda: stack.world.telegram.calls_to("answerCallbackQuery"), what="the button's answer")
    assert "acknowledged" in answered[0].params.get("text", "").lower()
    edited = wait_for(lambda: [c for c in stack.world.telegram.calls_to("editMessageText")
                               if "cknowledged" in c.params["text"]], what="the Telegram message edited")
    assert str(edited[0].params["chat_id"]) == str(TG_CHAT)
    wait_for(lambda: stack.slack_updates("Acknowledged"), what="the Slack message showing it")
    mails = wait_for(lambda: len(stack.world.smtp.received) >= 2 and stack.world.smtp.received,
                     what="the acknowledgement email")
    acked_mail = mails[-1].message
    text = acked_mail["Subject"] + acked_mail.get_body(("plain",)).get_content()
    assert "cknowledged" in text, text


def discord_message(stack: Stack, incident_id: int) -> str | None:
    """The reference of the Discord message whose buttons act on this incident."""
    for (channel, message), body in stack.world.discord.messages.items():
        if f"ack_incident:{incident_id}" in json.dumps(body.get("components")):
            return f"{channel}:{message}"
    return None


def mattermost_post(stack: Stack, incident_id: int) -> str | None:
    """The id of the Mattermost post about this incident."""
    for post_id, post in stack.world.mattermost.posts.items():
        if post["props"]["attachments"][0]["title"].startswith(f"#{incident_id} "):
            return post_id
    return None


def test_four_chats_show_the_incident_and_an_ack_clicked_in_discord_shows_everywhere(stack: Stack) -> None:
    fire(stack.am, "E2EFourChats")
    incident_id, _ = posted_incident(stack, "E2EFourChats")
    world = stack.world
    wait_for(lambda: [c for c in world.telegram.calls_to("sendMessage") if f"ack:{incident_id}" in json.dumps(
        c.params)], what="the Telegram message")
    discord_ref = wait_for(lambda: discord_message(stack, incident_id), what="the Discord message")
    post_id = wait_for(lambda: mattermost_post(stack, incident_id), what="the Mattermost post")
    wait_for(lambda: world.smtp.received, what="the email of the new incident")
    assert [c["label"] for c in world.discord.message(discord_ref)["components"][0]["components"]] == [
        "Acknowledge", "Resolve", "Silence 1h"]
    assert world.discord.commands and world.discord.commands[0]["name"] == "incident"

    click = component_interaction(f"ack_incident:{incident_id}", "1100000000000000999", "dana")
    body, headers = world.discord.signed(click)
    forged = {**headers, "X-Signature-Ed25519": "00" * 64}
    assert stack.post("/discord/interactions", body, forged) == 401
    assert stack.post("/discord/interactions", body, headers) == 200

    wait_for(lambda: "Acknowledged by Dana" in json.dumps(world.discord.message(discord_ref)["embeds"]),
             what="the Discord message edited")
    wait_for(lambda: stack.slack_updates("Acknowledged by Dana"), what="the Slack message showing it")
    wait_for(lambda: [c for c in world.telegram.calls_to("editMessageText")
                      if "Acknowledged by Dana" in c.params["text"] and "via Discord" in c.params["text"]],
             what="the Telegram message showing who acknowledged and through which chat")
    wait_for(lambda: "Acknowledged by Dana" in json.dumps(world.mattermost.posts[post_id]["props"]),
             what="the Mattermost post edited")
    mails = wait_for(lambda: len(world.smtp.received) >= 2 and world.smtp.received, what="the acknowledgement email")
    acked_mail = mails[-1].message
    assert "ACKNOWLEDGED" in acked_mail["Subject"]
    assert "Acknowledged by Dana via Discord" in acked_mail.get_body(("plain",)).get_content()
    assert world.discord.followups == []  # nobody was told of an error
