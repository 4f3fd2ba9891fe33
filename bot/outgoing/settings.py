"""The settings the outgoing integrations need (CONTRACT section 8), read from a lookup of the environment."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class OutgoingSettingsError(ValueError):
    """One setting has a bad value; the message names it and says what was expected."""


@dataclass(frozen=True, slots=True)
class PagerDutySettings:
    """Where PagerDuty's Events API v2 takes events."""

    events_url: str = DEFAULT_EVENTS_URL


@dataclass(frozen=True, slots=True)
class JiraSettings:
    """Jira's base URL and credentials: Cloud (account email + API token) or Data Center (personal access token)."""

    url: str
    email: str | None = None
    api_token: str | None = field(default=None, repr=False)
    pat: str | None = field(default=None, repr=False)

    @property
    def cloud(self) -> bool:
        """Jira Cloud (email and API token) rather than Data Center (personal access token)."""
        return self.pat is None

    def authorization(self) -> str:
        """The Authorization header: Basic email:token on Cloud, Bearer PAT on Data Center."""
        if self.pat is not None:
            return f"Bearer {self.pat}"
        pair = f"{self.email}:{self.api_token}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def browse_url(self, key: str) -> str:
        """The issue's page."""
        return f"{self.url}/browse/{key}"


def _url(lookup: Callable[[str], str | None], name: str) -> str | None:
    value = lookup(name)
    if value is not None and not value.startswith(("http://", "https://")):
        raise OutgoingSettingsError(f"{name}: expected a URL starting with http:// or https://")
    return value.rstrip("/") if value else None


def read_pagerduty_settings(lookup: Callable[[str], str | None]) -> PagerDutySettings:
    """PAGERDUTY_EVENTS_URL (PagerDuty's own by default; an EU account's, a proxy or a test stand-in)."""
    return PagerDutySettings(_url(lookup, "PAGERDUTY_EVENTS_URL") or DEFAULT_EVENTS_URL)


def read_jira_settings(lookup: Callable[[str], str | None]) -> JiraSettings | None:
    """The Jira settings, or None when JIRA_URL is unset (and no credential is either)."""
    url = _url(lookup, "JIRA_URL")
    email, token, pat = lookup("JIRA_EMAIL"), lookup("JIRA_API_TOKEN"), lookup("JIRA_PAT")
    if url is None:
        given = [name for name, value in (("JIRA_EMAIL", email), ("JIRA_API_TOKEN", token), ("JIRA_PAT", pat))
                 if value]
        if given:
            raise OutgoingSettingsError(f"JIRA_URL: expected Jira's base URL (such as https://example.atlassian.net) "
                                        f"when {given[0]} is set")
        return None
    if pat is not None and (email is not None or token is not None):
        raise OutgoingSettingsError("JIRA_PAT: expected either JIRA_PAT (Data Center) or JIRA_EMAIL with "
                                    "JIRA_API_TOKEN (Cloud), not both")
    if pat is None and (email is None or token is None):
        missing = "JIRA_EMAIL" if email is None else "JIRA_API_TOKEN"
        raise OutgoingSettingsError(f"{missing}: expected JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT "
                                    "(Jira Data Center) with JIRA_URL")
    if email is not None and "@" not in email:
        raise OutgoingSettingsError("JIRA_EMAIL: expected the email address of the Atlassian account the API token "
                                    "belongs to")
    return JiraSettings(url=url, email=email, api_token=token, pat=pat)
