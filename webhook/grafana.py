"""Parse a Grafana Alerting webhook (a contact point of type Webhook, payload version "1") into value objects.

Grafana's body is Alertmanager's plus `orgId`, `state`, `title` and `message`, and each alert carries
`dashboardURL`, `panelURL`, `silenceURL`, `imageURL`, `values` and `valueString`. The alerts are grouped and
deduplicated as Alertmanager's are (Grafana's `groupKey`, each alert's `fingerprint` and `startsAt`); the
extra fields become annotations (`dashboard_url`, `panel_url`, `silence_url`, `image_url`, `values`), which
the incident shows as links. No I/O here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from store.domain.alerts import AlertBatch, AlertSignal, Origin
from webhook.alertmanager import PayloadError, parse_alert, parse_grouped

GRAFANA = Origin("grafana", "grafana", "Grafana")
VERSION = "1"
URL_FIELDS = {"dashboardURL": "dashboard_url", "panelURL": "panel_url", "silenceURL": "silence_url",
              "imageURL": "image_url"}
TEXT_FIELDS = ("state", "title", "message")
MAX_URL = 4096


def _without_end(url: str) -> str:
    """A firing alert's dashboard link without Grafana's `to` (always "now"), so that a repeat is a repeat."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "to"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _values(raw: Any) -> str:
    """Grafana's evaluated values ({"B": 44.2, "C": 1}) as the text `B=44.2, C=1`."""
    if raw is None:
        return ""
    if not isinstance(raw, dict) or any(
        isinstance(v, bool) or not isinstance(v, int | float | None) for v in raw.values()
    ):
        raise ValueError("values must be an object of numbers")
    shown = []
    for name, value in sorted(raw.items()):
        shown.append(f"{name}={'null' if value is None else format(value, 'g')}")
    return ", ".join(shown)[:1000]


def _extras(raw: dict[str, Any], firing: bool) -> dict[str, str]:
    """The Grafana fields of one alert as annotations (empty ones left out)."""
    extra: dict[str, str] = {}
    for field, annotation in URL_FIELDS.items():
        value = raw.get(field) or ""
        if not isinstance(value, str) or len(value) > MAX_URL:
            raise ValueError(f"{field} must be a URL of at most {MAX_URL} characters")
        if value:
            keep_end = not firing or field in ("silenceURL", "imageURL")
            extra[annotation] = value if keep_end else _without_end(value)
    values = _values(raw.get("values"))
    if values:
        extra["values"] = values
    return extra


def parse_grafana_alert(raw: Any, index: int) -> AlertSignal:
    """One Grafana alert: Alertmanager's fields, then Grafana's own as annotations; ValueError saying what is wrong."""
    alert = parse_alert(raw, index)
    extra = _extras(raw, alert.firing)
    if not extra:
        return alert
    return replace(alert, annotations={**alert.annotations, **extra})


def _check_top(body: dict[str, Any]) -> int:
    """The body's own fields: version "1", orgId a whole number, state/title/message text; the org id."""
    version = body.get("version", VERSION)
    if str(version) != VERSION:
        raise PayloadError(
            f"unsupported Grafana webhook version {json.dumps(version)[:20]}: expected \"1\" (Grafana Alerting's "
            "webhook contact point, without a custom payload)",
            [{"field": "version", "message": 'expected "1"'}],
        )
    org_id = body.get("orgId", 1)
    if isinstance(org_id, bool) or not isinstance(org_id, int):
        raise PayloadError("orgId must be a whole number", [{"field": "orgId", "message": "expected a whole number"}])
    for field in TEXT_FIELDS:
        if not isinstance(body.get(field, ""), str):
            raise PayloadError(f"{field} must be text", [{"field": field, "message": "expected a string"}])
    return org_id


def parse_grafana(body: Any) -> AlertBatch:
    """A decoded Grafana webhook body to an AlertBatch; odd alerts are skipped, a wrong body raises PayloadError."""
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object (a Grafana Alerting webhook, version 1)")
    org_id = _check_top(body)
    grouped = parse_grouped(body, parse_grafana_alert)
    receiver = body.get("receiver") or ""
    return AlertBatch(
        # Grafana's group keys look like Alertmanager's: keep the two (and Grafana's orgs) apart.
        group_key=f"grafana:{org_id}:{grouped.group_key}",
        receiver=receiver if isinstance(receiver, str) else "",
        external_url="",  # Grafana's URL is not an Alertmanager's: no Alertmanager link for these alerts
        group_labels=grouped.group_labels,
        alerts=grouped.alerts,
        skipped=grouped.skipped,
        truncated_alerts=grouped.truncated_alerts,
        origin=GRAFANA,
    )
