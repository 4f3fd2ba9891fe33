"""Slow clients cannot hold connections: a head or a body trickled byte by byte is cut off by the server.

Real sockets against a real `tocsin serve`, so the test holds whichever HTTP server web/server.py runs.
"""

from __future__ import annotations

import select
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import TocsinProcess, tocsin_env

TOKEN = "slow-client-webhook-token"
TRICKLE_SECONDS = 60.0  # how long each client would keep trickling if nobody cut it off
PACE = 0.25
HEAD = b"GET /healthz HTTP/1.1\r\nHost: tocsin\r\nX-Padding: " + b"a" * 400 + b"\r\n\r\n"
BODY_HEAD = (b"POST /api/v1/webhooks/alertmanager HTTP/1.1\r\nHost: tocsin\r\nContent-Type: application/json\r\n"
             b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 2000\r\n\r\n")

pytestmark = pytest.mark.faults


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[TocsinProcess]:
    env = tocsin_env(database_url, WEBHOOK_TOKEN=TOKEN, HTTP_HEADER_TIMEOUT="2s", HTTP_BODY_TIMEOUT="2s")
    process = TocsinProcess(env, tmp_path / "tocsin.log").start()
    yield process
    process.stop()


def trickle(port: int, preamble: bytes, payload: bytes) -> bytes | None:
    """Send `preamble`, then `payload` a byte every PACE seconds; what the server answered before it closed
    the connection, or None when it let the client trickle for TRICKLE_SECONDS."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(preamble)
        deadline = time.monotonic() + TRICKLE_SECONDS
        for byte in payload:
            if time.monotonic() > deadline:
                return None
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # reset or broken pipe: the server has closed it
                return received
            readable, _, _ = select.select([sock], [], [], PACE)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    return received
                if not chunk:
                    return received
                received += chunk
    return None


def test_a_head_sent_byte_by_byte_is_cut_off(server: TocsinProcess) -> None:
    outcome = trickle(server.port, b"", HEAD * 10)
    assert outcome is not None, "the server let a client take a minute over one request head"
    assert b"200 OK" not in outcome


def test_a_body_sent_byte_by_byte_is_cut_off(server: TocsinProcess) -> None:
    outcome = trickle(server.port, BODY_HEAD, b"{" + b" " * 1998 + b"}")
    assert outcome is not None, "the server let a client take a minute over one body"
    assert outcome == b"" or outcome.startswith(b"HTTP/1.1 408")  # closed, or told so first


def test_the_server_keeps_serving_while_slow_clients_trickle(server: TocsinProcess) -> None:
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(20)]
    try:
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
            assert response.status == 200
        closed = set()
        deadline = time.monotonic() + TRICKLE_SECONDS
        while len(closed) < len(socks) and time.monotonic() < deadline:
            readable, _, _ = select.select([s for s in socks if s not in closed], [], [], 1)
            for sock in readable:
                try:
                    if not sock.recv(4096):
                        closed.add(sock)
                except OSError:
                    closed.add(sock)
        assert len(closed) == len(socks), f"{len(socks) - len(closed)} idle half-open connections were kept"
    finally:
        for sock in socks:
            sock.close()
