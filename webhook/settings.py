"""The settings the webhook needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Bearer token Alertmanager must send, and the largest body accepted."""

    token: str | None = None
    max_bytes: int = 5_242_880
