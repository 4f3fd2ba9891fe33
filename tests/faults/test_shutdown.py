"""Graceful shutdown (SIGTERM): a request in flight finishes and is stored, sends in flight are given back to
the outbox so that another replica sends them at once (not after the claim lease), and the process exits in time."""

from __future__ import annotations

import json
import signal
import socket
import time
from typing import Any

import pytest

from tests.faults.conftest import WEBHOOK_TOKEN, Stack, assert_each_message_sent_once
from tests.support.waiting import wait_for
from tests.support.webhook_load import Sender, group_body

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
EXIT_BOUND = 20.0  # uvicorn's 10 s grace for requests, then the worker's 5 s for sends, with room to spare


def refuses_connections(port: int) -> bool:
    """True once nothing listens on the port any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def wait_exit(stack: Stack, index: int) -> tuple[int, float]:
    """SIGTERM was sent: the exit code and how long the exit took."""
    proc = stack.cluster.replicas[index].proc
    assert proc is not None
    started = time.monotonic()
    code = proc.wait(EXIT_BOUND + 10)
    return code, time.monotonic() - started


def test_a_request_in_flight_at_sigterm_finishes_and_is_stored(make_stack: Any, database_url: str) -> None:
    stack: Stack = make_stack(database_url, replicas=1)
    replica = stack.cluster.replicas[0]
    body = json.dumps(group_body("in-flight")).encode()
    head = (
        f"POST /api/v1/webhooks/alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {WEBHOOK_TOKEN}\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n"
        f"Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", replica.port), timeout=30) as conn:
        conn.sendall(head)
        # "100 Continue" comes once the app has begun handling the request and asks for its body.
        assert conn.recv(1024).startswith(b"HTTP/1.1 100 ")
        assert replica.proc is not None
        stopped_at = time.monotonic()
        replica.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: refuses_connections(replica.port), 15, "the server to stop accepting connections")
        conn.sendall(body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    code = replica.proc.wait(EXIT_BOUND + 10)
    assert code == 0, replica.log()
    assert time.monotonic() - stopped_at < EXIT_BOUND
    assert stack.db.value("SELECT count(*) FROM alerts") == 2


def test_sigterm_gives_back_claimed_sends_and_another_replica_sends_them_at_once(
    make_stack: Any, database_url: str
) -> None:
    # The claim lease is the default 120 s: the messages are sent far sooner only because they were given back.
    stack: Stack = make_stack(database_url, replicas=2, start=False)
    db, slack = stack.db, stack.world.slack
    slack.hold("chat.postMessage")
    stack.cluster.start([0])
    sender = Sender(stack.cluster.urls[0] + "/api/v1/webhooks/alertmanager", WEBHOOK_TOKEN)
    assert sender.post_all([group_body(f"term-{n}") for n in range(3)]) == [200] * 3
    wait_for(lambda: slack.held >= 3, 30, "three Slack posts in flight", stack.logs)
    victim_claims = {r["claim_token"] for r in db.rows("SELECT claim_token FROM deliveries WHERE state = 'sending'")}
    assert len(victim_claims) == 3
    stack.cluster.start([1])

    victim = stack.cluster.replicas[0].proc
    assert victim is not None
    victim.send_signal(signal.SIGTERM)
    code, took = wait_exit(stack, 0)
    print(f"SIGTERM to exit: {took:.1f}s")
    assert code == 0 and took < EXIT_BOUND, stack.logs()
    tokens = {r["claim_token"] for r in db.rows("SELECT claim_token FROM deliveries WHERE channel = 'slack'")}
    assert not tokens & victim_claims  # given back (and perhaps claimed by the other replica already)
    stack.world.background.loop.call_soon_threadsafe(slack.release)
    wait_for(db.settled, 30, "the other replica to send the given-back messages well inside the lease", stack.logs)
    assert len(stack.slack_top_level()) == 3
    assert_each_message_sent_once(stack)
