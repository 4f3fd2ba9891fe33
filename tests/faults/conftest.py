"""The fault suite's world: Slack, Telegram and SMTP stand-ins, replicas of `tocsin serve` behind a load balancer.

Retries are compressed: DELIVERY_RETRY_BASE=0.2s doubling up to DELIVERY_RETRY_CAP=1s stands for production's
2 s up to 5 min, so a few seconds of 500s and 429s exercise what minutes would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import alertmanager
from tests.support.alertmanager import Alertmanager
from tests.support.chat_stack import SLACK_TOKEN, ChatWorld
from tests.support.cluster import Cluster, LoadBalancer, Peek

WEBHOOK_TOKEN = "faults-webhook-token"
SIGNING_SECRET = "faults-signing-secret"
TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TG_SECRET = "faults-telegram-secret"
SLACK_CHANNEL = "C0OPS"
TG_CHAT = -1001
FAST_RETRY = {"DELIVERY_RETRY_BASE": "200ms", "DELIVERY_RETRY_CAP": "1s"}


@dataclass
class Stack:
    """Everything one fault test runs against."""

    world: ChatWorld
    cluster: Cluster
    balancer: LoadBalancer
    db: Peek
    workdir: Path
    managers: list[Alertmanager] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        """The webhook URL behind the load balancer."""
        return self.balancer.url + "/api/v1/webhooks/alertmanager"

    def alertmanager(self, name: str, group_by: list[str] | None = None) -> Alertmanager:
        """A real Alertmanager posting to the load balancer."""
        am = Alertmanager(self.workdir / name, self.webhook_url, WEBHOOK_TOKEN, group_by).start()
        self.managers.append(am)
        return am

    def logs(self) -> str:
        """Replica logs and the unsent messages, for failure messages."""
        unsent = self.db.rows("SELECT id, channel, kind, state, attempts, last_error, claimed_until, next_attempt_at, "
                              "now() AS now FROM deliveries WHERE state <> 'sent' ORDER BY id LIMIT 20")
        return self.cluster.logs() + "\n--- unsent deliveries\n" + "\n".join(map(str, unsent))

    def slack_top_level(self) -> set[tuple[str, str]]:
        """(channel, ts) of the messages posted to Slack outside threads."""
        return {key for key, m in self.world.slack.messages.items() if not m.get("thread_ts")}

    def telegram_messages(self) -> set[tuple[int, int]]:
        """(chat_id, message_id) of the messages sent to Telegram."""
        return set(self.world.telegram.messages)

    def refs(self, channel: str, kinds: tuple[str, ...] = ("open", "announce")) -> list[str]:
        """external_ref of each sent delivery of this channel and kinds."""
        rows = self.db.rows(
            "SELECT external_ref FROM deliveries WHERE channel = $1 AND kind = ANY($2::text[]) AND state = 'sent'",
            channel,
            list(kinds),
        )
        return [r["external_ref"] for r in rows]


def stack_env(world: ChatWorld, public_url: str, **extra: str) -> dict[str, str]:
    """The settings of every replica: Slack, Telegram (webhook mode) and email on their stand-ins."""
    return {
        "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "PUBLIC_URL": public_url,
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CHANNEL": SLACK_CHANNEL,
        "SLACK_API_URL": world.slack.api_url,
        "TELEGRAM_BOT_TOKEN": TG_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "TELEGRAM_CHAT_ID": str(TG_CHAT),
        "TELEGRAM_API_URL": world.telegram.url,
        "EMAIL_SMTP_HOST": "127.0.0.1",
        "EMAIL_SMTP_PORT": str(world.smtp.port),
        "EMAIL_TLS": "none",
        "EMAIL_FROM": "tocsin@example.com",
        "EMAIL_TO": "ops@example.com",
        "DB_MAX_OPEN_CONNS": "5",
        **FAST_RETRY,
        **extra,
    }


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """Build a Stack: make_stack(database_url, replicas=3, start=True, **env)."""
    if not alertmanager.available():
        pytest.fail("needs the real Alertmanager: apt-get install prometheus-alertmanager")
    built: list[Stack] = []
    world = ChatWorld().start()

    def make(database_url: str, replicas: int = 3, start: bool = True, **env: str) -> Stack:
        cluster = Cluster(tmp_path, database_url, replicas)
        balancer = LoadBalancer(cluster.urls)
        world.background.run(balancer.start())
        for replica in cluster.replicas:
            replica.env.update(stack_env(world, balancer.url, **env))
        stack = Stack(world, cluster, balancer, Peek(database_url), tmp_path)
        built.append(stack)
        if start:
            cluster.start()
        return stack

    try:
        yield make
    finally:
        for stack in built:
            for am in stack.managers:
                am.stop()
            stack.cluster.stop()
            world.background.run(stack.balancer.stop())
        world.stop()


def write_config(path: Path, config: dict[str, Any]) -> str:
    """Write a TOCSIN_CONFIG file (JSON is YAML); returns its path."""
    path.write_text(json.dumps(config, indent=2))
    return str(path)


def _slack_incident(message: dict[str, Any]) -> int:
    """The incident a Slack message is about (its buttons carry the id)."""
    values = [e["value"] for b in message.get("blocks", []) if b.get("type") == "actions" for e in b["elements"]]
    return int(values[0])


def _telegram_incident(message: dict[str, Any]) -> int:
    """The incident a Telegram message is about (its keyboard carries the id)."""
    return int(re.findall(r"ack:(\d+)", json.dumps(message.get("reply_markup")))[0])


def assert_each_message_sent_once(stack: Stack, crashed: bool = False) -> None:
    """What the stand-ins hold is what the outbox recorded as sent: nothing missing, nothing twice.

    crashed: a replica was killed; a message it sent but could not record before dying is sent again by
    another replica. Such extras are allowed only for messages whose delivery was taken over (attempts > 1).
    """
    db = stack.db
    retaken = {(r["channel"], r["incident_id"]) for r in db.rows(
        "SELECT channel, incident_id FROM deliveries WHERE kind = 'open' AND attempts > 1")}
    slack_refs = stack.refs("slack")
    recorded = {tuple(ref.split(":", 1)) for ref in slack_refs}
    assert len(slack_refs) == len(recorded)
    extra = stack.slack_top_level() - recorded
    assert recorded <= stack.slack_top_level()
    if not crashed:
        assert not extra
    assert all(("slack", _slack_incident(stack.world.slack.messages[key])) in retaken for key in extra)
    telegram = {tuple(int(x) for x in ref.split(":")) for ref in stack.refs("telegram")}
    extra_tg = stack.telegram_messages() - telegram
    assert telegram <= stack.telegram_messages()
    if not crashed:
        assert not extra_tg
    assert all(("telegram", _telegram_incident(stack.world.telegram.messages[key])) in retaken for key in extra_tg)
    threads = [c for c in stack.world.slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    updates = len(stack.refs("slack", ("update",)))
    assert len(threads) >= updates and (crashed or len(threads) == updates)
    message_ids = [m.message["Message-ID"] for m in stack.world.smtp.received]
    assert len(message_ids) == len(set(message_ids))
    mails = db.value("SELECT count(*) FROM deliveries WHERE channel = 'email' AND state = 'sent'")
    taken_over = db.value("SELECT count(*) FROM deliveries WHERE channel = 'email' AND attempts > 1")
    assert mails <= len(message_ids) <= mails + (taken_over if crashed else 0)
