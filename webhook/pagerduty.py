"""Parse a PagerDuty Events API v2 event (trigger, acknowledge, resolve) and turn it into an alert. No I/O here.

A trigger is an alert whose fingerprint is the integration's id and the event's `dedup_key`: one alert, and so
one incident, per key while it fires. Its labels are the integration's (which route it), with the payload's
`severity`, `source`, `component`, `group` and `class`; `summary` and `custom_details` become annotations,
`client_url` (or the first link) its source link. Refusals are worded as PagerDuty words them: a list of
messages, each naming the field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from store.domain.alerts import AlertBatch, AlertSignal, Origin
from store.domain.links import safe_url
from store.domain.outgoing import Integration

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
MAX_TEXT = 1024  # source, component, group, class, client
MAX_DETAILS = 10_000
LABEL_FIELDS = ("severity", "source", "component", "group", "class")


class InvalidEvent(ValueError):
    """The event cannot be used; `errors` name each field, as PagerDuty's 400 answer does."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Event:
    """A checked event."""

    routing_key: str = field(repr=False)
    action: str
    dedup_key: str | None
    payload: dict[str, Any] = field(default_factory=dict)  # trigger only: summary, severity, source, ...
    client: str = ""
    client_url: str = ""
    links: tuple[tuple[str, str], ...] = ()  # (href, text)
    images: tuple[str, ...] = ()  # src


def _text(value: Any, name: str, errors: list[str], limit: int = MAX_TEXT, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            errors.append(f"'{name}' is missing or blank")
        return ""
    if not isinstance(value, str):
        errors.append(f"'{name}' must be a string")
        return ""
    if required and not value.strip():
        errors.append(f"'{name}' is missing or blank")
    if len(value) > limit:
        errors.append(f"'{name}' is longer than {limit} characters")
    return value


def _payload(raw: Any, errors: list[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        errors.append("'payload' is missing or not an object (a trigger needs summary, source and severity)")
        return {}
    payload: dict[str, Any] = {
        # PagerDuty keeps the first 1024 characters of a longer summary; so does Tocsin.
        "summary": _text(raw.get("summary", ""), "payload.summary", errors, limit=2**31, required=True)[:MAX_SUMMARY],
        "source": _text(raw.get("source"), "payload.source", errors, required=True),
    }
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        errors.append("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', "
                      "'error' or 'info')")
    payload["severity"] = severity
    for name in ("component", "group", "class"):
        payload[name] = _text(raw.get(name), f"payload.{name}", errors)
    stamp = raw.get("timestamp")
    if stamp is not None and not _is_time(stamp):
        errors.append("'payload.timestamp' is not a valid ISO 8601 time")
    payload["custom_details"] = _details(raw.get("custom_details"), errors)
    return payload


def _is_time(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 64:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _details(value: Any, errors: list[str]) -> str:
    """custom_details as text: a string as it is, anything else as compact JSON."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) > MAX_DETAILS:
        errors.append(f"'payload.custom_details' is longer than {MAX_DETAILS} characters")
    return text


def _each_url(raw: Any, field: str, url_key: str, errors: list[str]) -> list[tuple[str, dict[str, Any], int]]:
    """The objects of a list field (links, images) whose `url_key` is a web address: (url, object, index)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(f"'{field}' must be a list of objects with {url_key}")
        return []
    found = []
    for index, item in enumerate(raw[:50]):
        url = item.get(url_key) if isinstance(item, dict) else None
        if safe_url(url) is None:
            errors.append(f"'{field}[{index}].{url_key}' must be an http or https URL")
        else:
            found.append((url.strip(), item, index))
    return found


def parse_event(body: Any) -> Event:
    """A decoded body to an Event, or InvalidEvent listing every problem."""
    if not isinstance(body, dict):
        raise InvalidEvent(["the event must be a JSON object"])
    errors: list[str] = []
    routing_key = body.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        errors.append("'routing_key' is missing or blank")
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or "
                      "'resolve')")
    dedup_key = _text(body.get("dedup_key"), "dedup_key", errors, limit=MAX_DEDUP_KEY) or None
    if action in ("acknowledge", "resolve") and dedup_key is None:
        errors.append(f"'dedup_key' is required for an {action} event" if action == "acknowledge"
                      else "'dedup_key' is required for a resolve event")
    payload = _payload(body.get("payload"), errors) if action == "trigger" else {}
    client = _text(body.get("client"), "client", errors)
    client_url = body.get("client_url") or ""
    if client_url and safe_url(client_url) is None:
        errors.append("'client_url' must be an http or https URL")
    links = tuple((href, _text(link.get("text"), f"links[{index}].text", errors))
                  for href, link, index in _each_url(body.get("links"), "links", "href", errors))
    images = tuple(src for src, _, _ in _each_url(body.get("images"), "images", "src", errors))
    if errors:
        raise InvalidEvent(errors)
    return Event(routing_key, action, dedup_key, payload, client, client_url.strip() if client_url else "",
                 links, images)


def fingerprint(integration: Integration, dedup_key: str) -> str:
    """The alert fingerprint of a dedup key (at most 128 characters, as alert fingerprints are)."""
    plain = f"{integration.id}:{dedup_key}"
    if len(plain) <= 128:
        return plain
    return f"{integration.id}:sha256:{hashlib.sha256(dedup_key.encode()).hexdigest()[:48]}"


def origin(integration: Integration) -> Origin:
    """Who an integration's events are recorded as."""
    return Origin("pagerduty", integration.id, f"{integration.id} via PagerDuty events")


def labels_of(event: Event, integration: Integration) -> dict[str, str]:
    """The alert's labels: the payload's fields that are set, under the integration's own labels."""
    labels = {"alertname": integration.id}
    labels.update({name: str(event.payload[name]) for name in LABEL_FIELDS if event.payload.get(name)})
    labels.update(integration.labels)
    return labels


def annotations_of(event: Event) -> dict[str, str]:
    """The alert's annotations: summary, custom details, links, the first image and the sending client."""
    annotations = {"summary": event.payload["summary"]}
    optional = {
        "custom_details": event.payload.get("custom_details", ""),
        "links": "\n".join(f"{text} {href}".strip() for href, text in event.links),
        "image_url": event.images[0] if event.images else "",
        "client": event.client,
    }
    annotations.update({k: v for k, v in optional.items() if v})
    return annotations


def trigger_batch(event: Event, integration: Integration, dedup_key: str, starts_at: datetime) -> AlertBatch:
    """A trigger as a batch of one firing alert (the fingerprint's group, unless its route groups by labels)."""
    source = event.client_url or (event.links[0][0] if event.links else "")
    alert = AlertSignal(fingerprint(integration, dedup_key), "firing", starts_at, None, labels_of(event, integration),
                        annotations_of(event), source)
    return AlertBatch(group_key=f"pagerduty:{alert.fingerprint}", receiver=integration.id, external_url="",
                      group_labels={}, alerts=[alert], origin=origin(integration))


def resolve_batch(stored: AlertSignal, integration: Integration, ends_at: datetime) -> AlertBatch:
    """A resolve as a batch of the stored alert, resolved (its labels and annotations unchanged)."""
    alert = AlertSignal(stored.fingerprint, "resolved", stored.starts_at, ends_at, stored.labels, stored.annotations,
                        stored.generator_url)
    return AlertBatch(group_key=f"pagerduty:{alert.fingerprint}", receiver=integration.id, external_url="",
                      group_labels={}, alerts=[alert], origin=origin(integration))
