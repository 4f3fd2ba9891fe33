"""Size and nesting limits through a real `tocsin serve` and its HTTP server, not only Quart's test client.

The in-process fuzz (test_hostile_input.py) skips the HTTP server; these bodies go over real sockets,
with and without a Content-Length (chunked), so the server's own framing is part of what is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.conftest import load_sample
from tests.support.server import serving

if TYPE_CHECKING:
    from tests.support.postgres import TestPostgres

pytestmark = pytest.mark.faults
MAX_BYTES = 65536
TOKEN = "hostile-http-token"
TG_SECRET = "hostile-http-telegram-secret"
WEBHOOK = "/api/v1/webhooks/alertmanager"


@pytest.fixture(scope="module")
def base(postgres: TestPostgres) -> Iterator[str]:
    url = asyncio.run(postgres.fresh_database())
    env = {"WEBHOOK_TOKEN": TOKEN, "WEBHOOK_MAX_BYTES": str(MAX_BYTES),
           "TELEGRAM_BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
           "TELEGRAM_API_URL": "http://127.0.0.1:9"}
    try:
        with serving(url, **env) as served:
            yield served
    finally:
        asyncio.run(postgres.drop(url))


def exchange(base: str, path: str, body: bytes, headers: dict[str, str], chunked: bool = False) -> tuple[int, bytes]:
    """One HTTP/1.1 request over a plain socket; the status and the body of the answer."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        step = 16384
        payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + step]), body[i:i + step])
                           for i in range(0, len(body), step)) + b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(payload)  # the server may answer 413 and close before reading it all
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest


JSON = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_webhook_is_413_over_real_http(base: str, chunked: bool) -> None:
    big = json.dumps({**load_sample("05_firing_from_prometheus.json"), "padding": "x" * (MAX_BYTES + 1)}).encode()
    status, body = exchange(base, WEBHOOK, big, JSON, chunked)
    assert status == 413
    assert b"payload_too_large" in body


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_deep_nesting_is_400_over_real_http(base: str, chunked: bool) -> None:
    deep = b"[" * 30000 + b"]" * 30000
    status, body = exchange(base, WEBHOOK, deep, JSON, chunked)
    assert status == 400 and b"invalid_json" in body
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    status, _ = exchange(base, "/telegram/webhook", deep, headers, chunked)
    assert status == 400


def test_a_good_webhook_still_goes_through_after_all_that(base: str) -> None:
    status, body = exchange(base, WEBHOOK, json.dumps(load_sample("05_firing_from_prometheus.json")).encode(), JSON)
    assert status == 200 and json.loads(body)["incidents"]
