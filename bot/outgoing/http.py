"""HTTP for the outgoing integrations: one aiohttp session per integration, answers turned into outbox outcomes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from bot.delivery import SendResult, ServiceError

TIMEOUT = aiohttp.ClientTimeout(total=10)
USER_AGENT = "Tocsin"
GIVE_UP_NOW = math.inf  # as retry_after: longer than any give-up time, so the outbox fails the message at once
RETRY_AFTER_STATUSES = (429, 503)
MAX_ERROR_BODY = 300


@dataclass(frozen=True, slots=True)
class Answer:
    """A service's answer: status, headers, and the body (decoded JSON when it is JSON, else its text)."""

    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300

    def snippet(self) -> str:
        """The body, short, for an error message."""
        text = self.body if isinstance(self.body, str) else repr(self.body)
        return text[:MAX_ERROR_BODY]


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (a number or an HTTP date), or None."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - (now or datetime.now(UTC))).total_seconds(), 0.0)


class Http:
    """One session, opened on first use; `request` never raises for the service's answers, only ServiceError when
    the service cannot be reached."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, url: str, *, data: bytes | None = None, json_body: Any = None,
                      headers: Mapping[str, str] | None = None) -> Answer:
        """One request and its answer."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})
        try:
            async with self._session.request(method, url, data=data, json=json_body, headers=headers,
                                             allow_redirects=False) as response:
                raw = await response.read()
                text = raw.decode("utf-8", "replace")
                try:
                    body: Any = await response.json(content_type=None) if raw.strip() else None
                except ValueError:
                    body = text
                return Answer(response.status, dict(response.headers), body)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ServiceError(f"cannot reach {self.service} ({type(exc).__name__})") from None


def failed(service: str, answer: Answer, what: str, permanent: bool = False, detail: str | None = None) -> SendResult:
    """A refused call as the outbox records it: waits as long as the service asked (429, 503), gives up at once
    when `permanent` (the same call cannot succeed later); `detail` says what the service said (else its body)."""
    error = f"{what}: {service} answered HTTP {answer.status}: {detail or answer.snippet()}"
    wait = retry_after(answer.headers) if answer.status in RETRY_AFTER_STATUSES else None
    return SendResult(False, retry_after=GIVE_UP_NOW if permanent else wait, error=error[:500])
