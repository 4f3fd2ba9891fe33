"""A small Alertmanager API v2 client: create silences (POST /api/v2/silences)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=10)


class AlertmanagerError(Exception):
    """Alertmanager could not be reached or refused the call; the message says which and why."""


def silence_body(
    labels: Mapping[str, str], starts_at: datetime, seconds: float, created_by: str, comment: str
) -> dict[str, object]:
    """The PostableSilence for one alert: an equal matcher per label."""
    return {
        "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(labels.items())],
        "startsAt": starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "endsAt": (starts_at + timedelta(seconds=seconds)).astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "createdBy": created_by,
        "comment": comment,
    }


class AlertmanagerClient:
    """Talks to ALERTMANAGER_URL; one aiohttp session per call (silences are rare)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def create_silence(self, body: Mapping[str, object]) -> str:
        """POST the silence; its id, or AlertmanagerError."""
        url = f"{self.base_url}/api/v2/silences"
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.post(url, json=body) as response:
                text = await response.text()
                if response.status != 200:
                    raise AlertmanagerError(f"Alertmanager refused the silence: HTTP {response.status}: {text[:200]}")
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise AlertmanagerError(f"cannot reach Alertmanager at {self.base_url} ({type(exc).__name__})") from None
        silence_id = data.get("silenceID") if isinstance(data, dict) else None
        if not isinstance(silence_id, str) or not silence_id:
            raise AlertmanagerError("Alertmanager answered without a silenceID")
        return silence_id
