"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives; and one that never answers."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import ssl
import subprocess
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True, slots=True)
class Received:
    """One mail as the server got it."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    at: float  # time.monotonic() when DATA completed
    tls: bool
    login: str | None


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.sink.received.append(
            Received(
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                parsed,  # type: ignore[arg-type]
                time.monotonic(),
                session.ssl is not None,
                login,
            )
        )
        self.sink.arrived.set()
        return "250 OK"


class SmtpSink:
    """aiosmtpd in the test's event loop, on 127.0.0.1 and a free port; stop() and start() keep the port."""

    def __init__(
        self,
        *,
        implicit_tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.implicit_tls = implicit_tls
        self.starttls = starttls
        self.credentials = credentials
        self.port = 0
        self.received: list[Received] = []
        self.arrived = asyncio.Event()
        self._server: asyncio.Server | None = None

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mech: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == self.credentials
        return AuthResult(success=ok, handled=False, auth_data=data)

    def _protocol(self) -> SMTP:
        return SMTP(
            _Handler(self),
            hostname="127.0.0.1",
            tls_context=self.starttls,
            require_starttls=self.starttls is not None,
            auth_required=self.credentials is not None,
            authenticator=self._authenticate if self.credentials else None,
            auth_require_tls=self.implicit_tls is None,
        )

    async def start(self) -> int:
        """Listen (again, on the same port once one was picked); returns the port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", self.port, ssl=self.implicit_tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening: connections are refused until start() again."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait_for(self, count: int, within: float = 15.0) -> list[Received]:
        """Wait until at least `count` mails arrived (bounded); returns all received."""
        deadline = time.monotonic() + within
        while len(self.received) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"expected {count} mails, got {len(self.received)} within {within}s")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), min(left, 0.5))
        return list(self.received)


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never says a word: an SMTP server that hangs."""

    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self.connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        self.connected.set()
        await reader.read()  # until the client gives up

    async def start(self) -> int:
        """Listen; returns the port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Close the listener and every connection."""
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side of TLS with that certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def client_context(cert: Path) -> ssl.SSLContext:
    """A client that trusts only that certificate (and checks the host name)."""
    return ssl.create_default_context(cafile=str(cert))
