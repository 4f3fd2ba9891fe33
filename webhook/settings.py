"""The settings the webhook needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Bearer token Alertmanager must send, the largest body accepted, and how long one may wait to be stored."""

    token: str | None = None
    max_bytes: int = 5_242_880
    max_wait: float = 5.0
