"""One HTTP call to a paging provider, with the outcome the outbox understands: 429 and 5xx are retried (a 429's
Retry-After obeyed), the network's failures too; secrets stay out of every message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.delivery import ServiceError

TIMEOUT = aiohttp.ClientTimeout(total=15)
DEFAULT_RETRY_AFTER = 30.0


class ProviderError(ServiceError):
    """A paging provider refused a call or could not be reached (retry_after when it asked to wait)."""


class ProviderHttp:
    """An aiohttp session for one provider, opened on first use."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        """The JSON answer of a 2xx, else ProviderError (429 with the wait the provider asked for)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            async with self._session.request(method, url, **kwargs) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
                if response.status >= 300:
                    raise _error(self.provider, what, response.status, data, response.headers)
                return data
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ProviderError(f"{what}: cannot reach {self.provider} ({type(exc).__name__})") from None


def _error(provider: str, what: str, status: int, data: Any, headers: Mapping[str, str]) -> ProviderError:
    if status == 429:
        try:
            wait = max(float(headers.get("Retry-After", DEFAULT_RETRY_AFTER)), 1.0)
        except ValueError:
            wait = DEFAULT_RETRY_AFTER
        return ProviderError(f"{what}: rate limited by {provider} (HTTP 429)", 429, wait)
    if status >= 500:
        return ProviderError(f"{what}: {provider} answered HTTP {status}", status)
    return ProviderError(f"{what}: {provider} refused the call (HTTP {status}: {_detail(data)})", status)


def _detail(data: Any) -> str:
    """The provider's own words for a refusal: Twilio's message, Pushover's errors, ntfy's error."""
    if isinstance(data, dict):
        for key in ("message", "error", "errors"):
            value = data.get(key)
            if value:
                return "; ".join(map(str, value)) if isinstance(value, list) else str(value)[:300]
    return "no message"
