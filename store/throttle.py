"""Throttled authentication failures, the same on every replica (counted in PostgreSQL, rows expire).

Every surface that checks a credential hooks in with one line (docs/security.md, "Throttling"):

    async with auth_guard(current_app.extensions, request, "webhook"):
        check_the_credential()          # an ApiError 401 or 403 raised here counts as a failure

or, where the check answers instead of raising, `auth_check(...)` before and `await auth_failed(...)`
after a refusal. A blocked client gets 429 `too_many_failures` with Retry-After until its window ends.

The good path costs no database round trip: whether a client is blocked is answered from this
replica's memory, filled by its own failures (each one counted in the database, which answers with
the client's total over every replica) and refreshed from the database every few seconds (`refresh`),
so a block made on one replica holds on the others within that refresh, and across restarts.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from store.db import Database
from store.domain.throttle import Network, ThrottlePolicy, client_address, client_key
from store.errors import UNAVAILABLE, ApiError
from store.sql import auth_failures as sql

log = logging.getLogger(__name__)
EXTENSION = "tocsin_auth_throttle"  # where the composition root keeps the throttle (app.extensions)
REFRESH_SECONDS = 5.0
REFUSED = (401, 403)


class ClientRequest(Protocol):
    """What the throttle reads of a request: the peer address and the headers (Quart's request fits)."""

    @property
    def remote_addr(self) -> str | None: ...

    @property
    def headers(self) -> Any: ...


class TooManyFailures(ApiError):
    """429: this client failed to authenticate too often; it may try again after Retry-After seconds."""

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(429, "too_many_failures",
                         f"too many failed authentication attempts from this address; retry in {seconds} s")
        self.headers = {"Retry-After": str(seconds)}


class AuthThrottle:
    """Counts failures per client in the database; refuses blocked clients from memory."""

    def __init__(self, db: Database, policy: ThrottlePolicy, trusted: tuple[Network, ...] = (),
                 on_failure: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.policy = policy
        self.trusted = trusted
        self.on_failure = on_failure
        self._blocked: dict[str, float] = {}  # client key -> time.monotonic() when its window ends

    def client(self, request: ClientRequest) -> str:
        """The key failures of this request's client are counted under."""
        forwarded = request.headers.getlist("X-Forwarded-For") if self.trusted else ()
        return client_key(client_address(request.remote_addr, forwarded, self.trusted))

    def check(self, request: ClientRequest) -> None:
        """Raise TooManyFailures when this request's client is blocked (no I/O)."""
        if not self._blocked:
            return
        client = self.client(request)
        until = self._blocked.get(client)
        if until is None:
            return
        remaining = until - time.monotonic()
        if remaining <= 0:
            self._blocked.pop(client, None)
            return
        raise TooManyFailures(remaining)

    async def failed(self, request: ClientRequest, surface: str) -> None:
        """Count a refused credential; the client is blocked once it reaches the limit."""
        client = self.client(request)
        if self.on_failure is not None:
            self.on_failure(surface)
        try:
            async with self.db.transaction(stateless=True) as conn:
                failures, remaining = await sql.record(conn, client, self.policy.window)
        except UNAVAILABLE as exc:  # the refusal stands; only the count is lost
            log.warning("authentication failed on %s from %s; not counted (database unavailable: %s)",
                        surface, client, type(exc).__name__)
            return
        log.info("authentication failed on %s from %s (%d of %d allowed within %gs)",
                 surface, client, failures, self.policy.limit, self.policy.window)
        if failures >= self.policy.limit:
            if client not in self._blocked:
                log.warning("%s blocked for %.0fs: %d failed authentications (last on %s)",
                            client, remaining, failures, surface)
            self._blocked[client] = time.monotonic() + remaining

    async def refresh(self) -> None:
        """Take the blocks of every replica from the database and forget ended windows."""
        try:
            async with self.db.transaction(stateless=True) as conn:
                await sql.delete_expired(conn)
                rows = await sql.blocked(conn, self.policy.limit)
        except UNAVAILABLE as exc:
            log.warning("authentication throttle not refreshed: database unavailable (%s)", type(exc).__name__)
            return
        self.replace_blocks(rows)

    def replace_blocks(self, rows: Iterable[tuple[str, float]]) -> None:
        """Blocked clients are exactly these (client key, seconds left)."""
        now = time.monotonic()
        self._blocked = {client: now + remaining for client, remaining in rows if remaining > 0}


def _throttle(extensions: Mapping[str, Any]) -> AuthThrottle | None:
    return extensions.get(EXTENSION)


def auth_check(extensions: Mapping[str, Any], request: ClientRequest) -> None:
    """Raise TooManyFailures (429) when the request's client is blocked; call before checking a credential."""
    throttle = _throttle(extensions)
    if throttle is not None:
        throttle.check(request)


async def auth_failed(extensions: Mapping[str, Any], request: ClientRequest, surface: str) -> None:
    """Count a refused credential of `surface` (api, dashboard, webhook, slack, telegram, ...)."""
    throttle = _throttle(extensions)
    if throttle is not None:
        await throttle.failed(request, surface)


@asynccontextmanager
async def auth_guard(extensions: Mapping[str, Any], request: ClientRequest, surface: str) -> AsyncIterator[None]:
    """Around a credential check: 429 for a blocked client; an ApiError 401 or 403 raised inside counts."""
    auth_check(extensions, request)
    try:
        yield
    except ApiError as error:
        if error.status in REFUSED:
            await auth_failed(extensions, request, surface)
        raise
