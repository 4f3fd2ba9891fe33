"""The real slack_sdk client against the Web API stand-in: posts, updates, thread lines, 429 and 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import SendResult
from bot.slack.client import SlackChannel, make_web_client, post_message, update_message
from bot.slack.settings import SlackSettings
from store.domain.incident import Status
from tests.support.incident_values import T0, make_event, make_incident
from tests.support.slack_api import SlackApi

TOKEN = "xoxb-test-token"


@dataclass(frozen=True)
class Delivery:
    kind: str
    target: str | None = None
    external_ref: str | None = None


@pytest.fixture
async def slack() -> AsyncIterator[SlackApi]:
    api = await SlackApi(token=TOKEN).start()
    yield api
    await api.stop()


def settings_for(api: SlackApi, **overrides: object) -> SlackSettings:
    values: dict[str, object] = {
        "bot_token": TOKEN,
        "signing_secret": "s",
        "channel": "C0DEFAULT",
        "api_url": api.api_url,
        "public_url": "https://tocsin.example.com",
    }
    values.update(overrides)
    return SlackSettings(**values)  # type: ignore[arg-type]


def call_ts(api: SlackApi) -> str:
    """The ts of the only message posted so far."""
    ((_, ts),) = api.messages
    return ts


@pytest.fixture
def channel(slack: SlackApi) -> SlackChannel:
    settings = settings_for(slack, alertmanager_url="http://am:9093")
    return SlackChannel(make_web_client(settings), settings, names={"alice": "Alice"})


async def test_open_posts_blocks_with_the_bot_token_and_returns_channel_and_ts(
    slack: SlackApi, channel: SlackChannel
) -> None:
    result = await channel.send(Delivery("open", "C0OPS"), make_incident(), [make_event("opened")])
    (call,) = slack.calls_to("chat.postMessage")
    assert result.ok and result.external_ref == f"C0OPS:{call_ts(slack)}"
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.args["channel"] == "C0OPS" and call.args["text"].startswith("[TRIGGERED] #42")
    buttons = [e["action_id"] for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["ack_incident", "resolve_incident", "silence_incident"]


async def test_open_without_target_uses_slack_channel_and_user_targets_get_a_dm(
    slack: SlackApi, channel: SlackChannel
) -> None:
    default = await channel.send(Delivery("open"), make_incident(), [])
    assert default.ok and default.external_ref.startswith("C0DEFAULT:")
    direct = await channel.send(Delivery("open", "U01ALICE"), make_incident(), [])
    assert direct.ok and direct.external_ref.startswith("D01ALICE:")
    assert slack.calls_to("conversations.open")[0].args["users"] == "U01ALICE"


async def test_open_without_any_channel_is_a_clear_failure(slack: SlackApi) -> None:
    settings = settings_for(slack, channel=None)
    result = await SlackChannel(make_web_client(settings), settings).send(Delivery("open"), make_incident(), [])
    assert result == SendResult(False, error="no Slack channel: set SLACK_CHANNEL or the route's slack_channel")
    assert slack.calls == []


async def test_update_edits_the_message_and_adds_one_thread_line(slack: SlackApi, channel: SlackChannel) -> None:
    opened = await channel.send(Delivery("open", "C0OPS"), make_incident(), [])
    ref = opened.external_ref
    acked = make_incident(status=Status.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=T0)
    events = [make_event("opened"), make_event("acknowledged", "alice", "telegram", id=2)]
    result = await channel.send(Delivery("update", external_ref=ref), acked, events)
    assert result == SendResult(True, external_ref=ref)
    channel_id, ts = ref.split(":")
    (update,) = slack.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (channel_id, ts)
    assert "Acknowledged by Alice" in str(update.args["blocks"])
    assert slack.messages[(channel_id, ts)]["text"].startswith("[ACKNOWLEDGED]")
    assert [m["text"] for m in slack.thread(channel_id, ts)] == [":eyes: Acknowledged by Alice via Telegram"]


async def test_update_of_a_lost_message_or_bad_ref_fails_with_the_reason(
    slack: SlackApi, channel: SlackChannel
) -> None:
    lost = await channel.send(Delivery("update", external_ref="C0OPS:1.000001"), make_incident(), [])
    assert lost == SendResult(False, error="chat.update: Slack refused the call (message_not_found)")
    bad = await channel.send(Delivery("update", external_ref="nonsense"), make_incident(), [])
    assert bad.ok is False and "expected CHANNEL:TS" in (bad.error or "")
    missing = await channel.send(Delivery("update"), make_incident(), [])
    assert missing.ok is False and "reference" in (missing.error or "")


async def test_429_maps_to_retry_after_and_the_sdk_does_not_retry(slack: SlackApi, channel: SlackChannel) -> None:
    slack.fail_next(1, 429, retry_after=7)
    result = await channel.send(Delivery("open", "C0OPS"), make_incident(), [])
    assert result == SendResult(False, retry_after=7.0, error="chat.postMessage: rate limited by Slack")
    assert [c.status for c in slack.calls] == [429]
    assert (await channel.send(Delivery("open", "C0OPS"), make_incident(), [])).ok


async def test_429_without_retry_after_gets_a_default(slack: SlackApi, channel: SlackChannel) -> None:
    slack.fail_next(1, 429, retry_after=None)
    result = await channel.send(Delivery("open", "C0OPS"), make_incident(), [])
    assert result.retry_after == 30.0


async def test_500_is_a_plain_failure_for_the_pipeline_to_back_off(slack: SlackApi, channel: SlackChannel) -> None:
    slack.fail_next(2, 500)
    result = await channel.send(Delivery("open", "C0OPS"), make_incident(), [])
    assert result == SendResult(False, error="chat.postMessage: Slack answered HTTP 500")
    assert [c.status for c in slack.calls] == [500]


async def test_rate_limit_on_the_thread_line_asks_for_a_retry_of_the_update(
    slack: SlackApi, channel: SlackChannel
) -> None:
    ref = (await channel.send(Delivery("open", "C0OPS"), make_incident(), [])).external_ref
    slack.fail_for(60, 429, retry_after=3, method="chat.postMessage")
    result = await channel.send(Delivery("update", external_ref=ref), make_incident(), [make_event("note")])
    assert result == SendResult(False, retry_after=3.0, error="chat.postMessage (thread): rate limited by Slack")
    assert len(slack.calls_to("chat.update")) == 1


async def test_wrong_token_and_unreachable_slack(slack: SlackApi) -> None:
    settings = settings_for(slack, bot_token="xoxb-wrong")
    result = await post_message(make_web_client(settings), "C0OPS", "text", [])
    assert result == SendResult(False, error="chat.postMessage: Slack refused the call (invalid_auth)")
    await slack.stop()
    gone = await update_message(make_web_client(settings_for(slack)), "C0OPS:1.1", make_incident(), [], None)
    assert gone.ok is False and (gone.error or "").startswith("chat.update: cannot reach Slack")


async def test_sdk_default_client_raises_on_429_without_sleeping(slack: SlackApi) -> None:
    """What slack_sdk does by itself: its default async retry handlers cover connection errors only."""
    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
    slack.fail_next(1, 429, retry_after=120)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0OPS", text="x")
    assert caught.value.response.status_code == 429 and caught.value.response.headers["Retry-After"] == "120"
    assert len(slack.calls) == 1
    assert make_web_client(settings_for(slack)).retry_handlers == []
