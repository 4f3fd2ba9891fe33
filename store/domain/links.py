"""Where an incident's links point and what they are called, for every page, message and mail (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from store.domain.grouping import alertmanager_link

# The links an incident may carry (incident.links keys), in the order they are shown, with their names.
LINK_NAMES: tuple[tuple[str, str], ...] = (
    ("source", "Source graph"),
    ("runbook", "Runbook"),
    ("dashboard", "Grafana dashboard"),
    ("panel", "Grafana panel"),
    ("alertmanager", "Alertmanager"),
)
DASHBOARD = "Dashboard"
MAX_URL = 2048
SAFE_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class Link:
    """A named web link."""

    name: str
    url: str


def incident_url(public_url: str, incident_id: int) -> str:
    """The incident's page on the dashboard."""
    return f"{public_url.rstrip('/')}/incidents/{incident_id}"


def safe_url(value: object, limit: int = 4096) -> str | None:
    """The value when it is an absolute http(s) URL, else None: label and annotation text never becomes a
    javascript: (or any other scheme's) link."""
    if not isinstance(value, str) or len(value) > limit:
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.netloc or any(c.isspace() for c in text):
        return None
    return text


def source_links(
    links: Mapping[str, str], group_labels: Mapping[str, str] | None = None, alertmanager_url: str | None = None
) -> list[Link]:
    """Source graph, runbook and Alertmanager, keeping only web links (Alertmanager's from its URL when the
    alerts named none)."""
    found = dict(links)
    if "alertmanager" not in found and alertmanager_url:
        found["alertmanager"] = alertmanager_link(alertmanager_url, group_labels or {})
    return [Link(name, url) for key, name in LINK_NAMES if (url := safe_url(found.get(key), MAX_URL))]


def ticket_links(tickets: Sequence[Mapping[str, str]]) -> list[Link]:
    """'Jira OPS-12' for each issue opened for the incident elsewhere (web links only)."""
    names = {"jira": "Jira"}
    return [Link(f"{names.get(t.get('system', ''), t.get('system', ''))} {t.get('key', '')}".strip(), url)
            for t in tickets if (url := safe_url(t.get("url"), MAX_URL))]
