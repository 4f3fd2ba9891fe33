"""What the dashboard needs from the settings, handed over by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from web.settings import OidcSettings


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """PUBLIC_URL (for the cookie's Secure flag), ANONYMOUS_READ and ALERTMANAGER_URL (for links)."""

    public_url: str = "http://localhost:8080"
    anonymous_read: bool = False
    alertmanager_url: str | None = None
    dsn: str = ""  # the database the live stream LISTENs on
    oidc: OidcSettings | None = None  # None: sign-in with API tokens only

    @property
    def https(self) -> bool:
        """True when users reach Tocsin over HTTPS (PUBLIC_URL says so, also behind a TLS-terminating proxy)."""
        return self.public_url.lower().startswith("https://")
