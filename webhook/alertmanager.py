"""Parse an Alertmanager webhook body (payload version 4) into value objects; no I/O here."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from store.domain.alerts import AlertBatch, AlertSignal, SkippedAlert

SUPPORTED_VERSION = "4"
MAX_LABEL_LENGTH = 10_000


class PayloadError(ValueError):
    """The body as a whole cannot be used; `details` name the fields that were wrong."""

    def __init__(self, message: str, details: list[dict[str, str]] | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.details = details or []
        self.status = status


def parse_time(value: Any, field: str) -> datetime | None:
    """RFC 3339 text to an aware UTC datetime (nanoseconds truncated); Go's zero time gives None."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field} must be an RFC 3339 time, got {json.dumps(value)[:60]}")
    if value.startswith("0001-01-01"):
        return None
    return _instant(value, field)


@lru_cache(maxsize=4096)  # the alerts of a group often share startsAt; a resent group repeats them all
def _instant(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field} must be an RFC 3339 time, got {value[:60]!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{field} must carry a time zone (Z or ±hh:mm), got {value[:60]!r}")
    return parsed.astimezone(UTC)


def _string_map(value: Any, field: str, *, required: bool) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{field} must be an object of strings")
    if required and not value:
        raise ValueError(f"{field} must not be empty")
    for key, item in value.items():
        if type(item) is not str or len(item) > MAX_LABEL_LENGTH:
            if not isinstance(item, str):
                raise ValueError(f"{field}.{key} must be a string, got {type(item).__name__}")
            raise ValueError(f"{field}.{key} is longer than {MAX_LABEL_LENGTH} characters")
    return value  # decoded JSON: keys are strings already


def labels_fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex-digit fingerprint for senders that do not give one."""
    text = "\xff".join(f"{k}\xff{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_alert(raw: Any, index: int) -> AlertSignal:
    """One alert object to an AlertSignal, or ValueError saying what is wrong with it."""
    if not isinstance(raw, dict):
        raise ValueError(f"alerts[{index}] must be an object")
    labels = _string_map(raw.get("labels"), "labels", required=True)
    annotations = _string_map(raw.get("annotations"), "annotations", required=False)
    status = raw.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise ValueError(f"status must be 'firing' or 'resolved', got {json.dumps(status)[:40]}")
    starts_at = parse_time(raw.get("startsAt"), "startsAt")
    if starts_at is None:
        raise ValueError("startsAt must be a real time, not Go's zero time")
    ends_raw = raw.get("endsAt")
    ends_at = parse_time(ends_raw, "endsAt") if ends_raw not in (None, "") else None
    fingerprint = raw.get("fingerprint") or labels_fingerprint(labels)
    if not isinstance(fingerprint, str) or len(fingerprint) > 128:
        raise ValueError("fingerprint must be a string of at most 128 characters")
    generator_url = raw.get("generatorURL") or ""
    if not isinstance(generator_url, str):
        raise ValueError("generatorURL must be a string")
    if status == "resolved" and ends_at is None:
        ends_at = starts_at
    return AlertSignal(fingerprint, status, starts_at, ends_at, labels, annotations, generator_url)


def _group_key(body: dict[str, Any], group_labels: dict[str, str]) -> str:
    key = body.get("groupKey")
    if isinstance(key, str) and key:
        return key
    if not isinstance(key, str | None):
        raise PayloadError("groupKey must be a string", [{"field": "groupKey", "message": "expected a string"}])
    # Senders other than Alertmanager may omit it: group by their group labels instead.
    return "{}:{" + ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items())) + "}"


def parse_webhook(body: Any) -> AlertBatch:
    """A decoded webhook body to an AlertBatch; odd alerts are skipped, a wrong body raises PayloadError."""
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object (an Alertmanager webhook, version 4)")
    version = body.get("version", SUPPORTED_VERSION)
    if str(version) != SUPPORTED_VERSION:
        raise PayloadError(
            f"unsupported webhook version {json.dumps(version)[:20]}: expected \"4\"",
            [{"field": "version", "message": "expected \"4\""}],
        )
    alerts_raw = body.get("alerts")
    if not isinstance(alerts_raw, list):
        raise PayloadError("alerts must be a list", [{"field": "alerts", "message": "expected a list of alerts"}])
    try:
        group_labels = _string_map(body.get("groupLabels"), "groupLabels", required=False)
    except ValueError as exc:
        raise PayloadError(str(exc), [{"field": "groupLabels", "message": str(exc)}]) from None
    external_url = body.get("externalURL") or ""
    receiver = body.get("receiver") or ""
    if not isinstance(external_url, str) or not isinstance(receiver, str):
        raise PayloadError("externalURL and receiver must be strings")
    alerts: list[AlertSignal] = []
    skipped: list[SkippedAlert] = []
    for index, raw in enumerate(alerts_raw):
        try:
            alerts.append(parse_alert(raw, index))
        except ValueError as exc:
            skipped.append(SkippedAlert(index, str(exc)))
    truncated = body.get("truncatedAlerts", 0)
    return AlertBatch(
        group_key=_group_key(body, group_labels),
        receiver=receiver,
        external_url=external_url,
        group_labels=group_labels,
        alerts=alerts,
        skipped=skipped,
        truncated_alerts=truncated if isinstance(truncated, int) else 0,
    )
