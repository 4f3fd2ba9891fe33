"""A small Alertmanager API v2 client: create silences (POST /api/v2/silences), for store.silence."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from store.silence import SilenceFailed

TIMEOUT = aiohttp.ClientTimeout(total=10)


class AlertmanagerClient:
    """Talks to ALERTMANAGER_URL; one aiohttp session per call (silences are rare)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def create_silence(self, body: Mapping[str, object]) -> str:
        """POST the silence; its id, or SilenceFailed saying why."""
        url = f"{self.base_url}/api/v2/silences"
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.post(url, json=body) as response:
                text = await response.text()
                if response.status != 200:
                    raise SilenceFailed(f"Alertmanager refused the silence: HTTP {response.status}: {text[:200]}")
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise SilenceFailed(f"cannot reach Alertmanager at {self.base_url} ({type(exc).__name__})") from None
        silence_id = data.get("silenceID") if isinstance(data, dict) else None
        if not isinstance(silence_id, str) or not silence_id:
            raise SilenceFailed("Alertmanager answered without a silenceID")
        return silence_id


def silencer(alertmanager_url: str | None) -> AlertmanagerClient | None:
    """The client for ALERTMANAGER_URL, or None when silences are off."""
    return AlertmanagerClient(alertmanager_url) if alertmanager_url else None
