"""The worker with chat-like channels plugged in through the Channel protocol (as Slack and Telegram will be)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from bot.delivery import ChannelRegistry, DeliveryWorker, SendResult, WorkerSettings
from bot.email.client import EmailChannel
from bot.email.settings import EmailSettings
from store import deliveries
from store.db import Database
from store.domain.delivery import RetryPolicy
from store.models import Delivery, Event, Incident
from tests.support.incidents import ROUTES, act, open_incident, rows
from tests.support.smtp import SilentServer
from tests.support.waiting import eventually

FAST = WorkerSettings(
    retry=RetryPolicy(base=0.05, cap=0.3, give_up=3600), send_timeout=30, lease=60, idle_poll=1, stop_grace=0.5
)


class RecordingChannel:
    """A chat channel stand-in: posts get ref 'msg-N', updates edit that ref; optionally rate-limited once."""

    def __init__(self, name: str, limited_once: float | None = None) -> None:
        self.name = name
        self.limited_once = limited_once
        self.calls: list[tuple[float, str, str | None, str, int]] = []

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        self.calls.append(
            (
                time.monotonic(),
                delivery.kind,
                delivery.external_ref,
                incident.status.value,
                len([e for e in recent_events if e.id >= delivery.first_event_id]),
            )
        )
        if self.limited_once is not None:
            wait, self.limited_once = self.limited_once, None
            return SendResult(False, retry_after=wait, error="429 Too Many Requests")
        ref = f"msg-{delivery.id}" if delivery.kind == "open" else delivery.external_ref
        return SendResult(True, external_ref=ref)


async def slack_sent(db: Database) -> bool:
    """The incident's Slack message is sent."""
    return any(r["channel"] == "slack" and r["state"] == "sent" for r in await rows(db))


async def test_a_hanging_smtp_server_does_not_hold_up_chat_channels(db: Database) -> None:
    silent = SilentServer()
    port = await silent.start()
    email = EmailChannel(
        EmailSettings(smtp_host="127.0.0.1", smtp_port=port, from_addr="t@example.com", tls="none", timeout=60)
    )
    slack, telegram = RecordingChannel("slack"), RecordingChannel("telegram")
    worker = DeliveryWorker(db, ChannelRegistry([email, slack, telegram]), FAST)
    await worker.start()
    try:
        incident_id = await open_incident(db, routes=ROUTES)
        await asyncio.wait_for(silent.connected.wait(), 10)
        await act(db, incident_id, "acknowledged")

        async def chat_updated() -> bool:  # sent, and recorded as sent (the record follows the send)
            states = {(r["channel"], r["kind"]): r["state"] for r in await rows(db)}
            return states.get(("slack", "update")) == "sent" and states.get(("telegram", "update")) == "sent"

        await eventually(chat_updated)
        states = {(r["channel"], r["kind"]): r["state"] for r in await rows(db)}
        assert states[("email", "open")] == "sending"  # still hanging in the SMTP conversation
        assert states[("slack", "update")] == "sent" and states[("telegram", "update")] == "sent"
        [post, edit] = slack.calls
        assert post[1:3] == ("open", None) and (edit[1], edit[3]) == ("update", "acknowledged")
        assert edit[2] == f"msg-{(await _open_id(db, 'slack'))}"
        assert edit[4] == 1  # the update reports one change: the acknowledge
    finally:
        await silent.stop()
        await worker.stop()


async def test_retry_after_from_a_channel_is_obeyed(db: Database) -> None:
    slack = RecordingChannel("slack", limited_once=0.8)
    worker = DeliveryWorker(db, ChannelRegistry([slack]), FAST)
    await worker.start()
    try:
        await open_incident(db, routes=ROUTES)

        await eventually(lambda: slack_sent(db))
    finally:
        await worker.stop()
    first, second = slack.calls
    assert second[0] - first[0] >= 0.8
    [row] = [r for r in await rows(db) if r["channel"] == "slack"]
    assert row["attempts"] == 2 and row["external_ref"] == f"msg-{row['id']}"


async def _open_id(db: Database, channel: str) -> int:
    return next(r["id"] for r in await rows(db) if r["channel"] == channel and r["kind"] == "open")


class HangingChannel:
    """A channel whose sends never answer (a stalled chat API)."""

    name = "slack"

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        self.started.set()
        await asyncio.sleep(3600)
        return SendResult(True)


async def test_stopping_gives_back_the_claims_of_sends_still_in_flight(db: Database) -> None:
    hanging = HangingChannel()
    worker = DeliveryWorker(db, ChannelRegistry([hanging]), FAST)
    await worker.start()
    await open_incident(db, routes=ROUTES)
    await asyncio.wait_for(hanging.started.wait(), 10)
    [claimed] = [r for r in await rows(db) if r["channel"] == "slack"]
    assert claimed["state"] == "sending" and claimed["claim_token"] is not None

    await asyncio.wait_for(worker.stop(), 10)  # stop_grace is 0.5 s, far less than the 60 s lease

    [released] = [r for r in await rows(db) if r["channel"] == "slack"]
    assert released["state"] == "pending" and released["claim_token"] is None and released["claimed_until"] is None
    taker = RecordingChannel("slack")
    other = DeliveryWorker(db, ChannelRegistry([taker]), FAST)
    await other.start()
    try:

        await eventually(lambda: slack_sent(db))  # at once, not after the lease
    finally:
        await other.stop()
    assert [c[1] for c in taker.calls] == ["open"]


async def test_an_outcome_is_recorded_once_the_database_is_back_not_sent_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mark_sent = deliveries.mark_sent
    refusals = [ConnectionRefusedError("database restarting")] * 2

    async def flaky_mark_sent(*args: object, **kwargs: object) -> bool:
        if refusals:
            raise refusals.pop()
        return await real_mark_sent(*args, **kwargs)

    monkeypatch.setattr(deliveries, "mark_sent", flaky_mark_sent)
    slack = RecordingChannel("slack")
    worker = DeliveryWorker(db, ChannelRegistry([slack]), FAST)  # lease 60 s: a claim left to expire would show
    await worker.start()
    try:
        await open_incident(db, routes=ROUTES)

        await eventually(lambda: slack_sent(db))
    finally:
        await worker.stop()
    assert not refusals
    assert [c[1] for c in slack.calls] == ["open"]  # recorded, not sent a second time
    [row] = [r for r in await rows(db) if r["channel"] == "slack"]
    assert row["attempts"] == 1
