"""`tocsin send-test-alert`: post a realistic Alertmanager webhook to a running Tocsin."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

TEST_GROUP_KEY = '{}/{}:{alertname="TocsinTestAlert"}'


def sample_payload(resolve: bool, now: datetime | None = None) -> dict[str, Any]:
    """A two-alert group as Alertmanager 0.25 sends it."""
    now = now or datetime.now(UTC)
    status = "resolved" if resolve else "firing"
    starts = "2026-01-01T00:00:00Z"
    ends = now.isoformat().replace("+00:00", "Z") if resolve else "0001-01-01T00:00:00Z"
    common = {"alertname": "TocsinTestAlert", "service": "tocsin-demo", "team": "ops"}
    alerts = []
    for n, (instance, severity) in enumerate([("demo-1:9100", "critical"), ("demo-2:9100", "warning")]):
        alerts.append(
            {
                "status": status,
                "labels": {**common, "instance": instance, "severity": severity},
                "annotations": {
                    "summary": "Test alert from tocsin send-test-alert",
                    "description": f"A test alert on {instance}; it is safe to acknowledge and resolve.",
                    "runbook_url": "https://github.com/tocsin/tocsin#quick-start",
                },
                "startsAt": starts,
                "endsAt": ends,
                "generatorURL": "http://localhost:9090/graph?g0.expr=up%3D%3D0",
                "fingerprint": f"70c51e57e5700{n:03d}",
            }
        )
    return {
        "receiver": "tocsin",
        "status": status,
        "alerts": alerts,
        "groupLabels": {"alertname": "TocsinTestAlert"},
        "commonLabels": common,
        "commonAnnotations": {"summary": "Test alert from tocsin send-test-alert"},
        "externalURL": "http://localhost:9093",
        "version": "4",
        "groupKey": TEST_GROUP_KEY,
        "truncatedAlerts": 0,
    }


def send_test_alert(url: str, token: str | None, resolve: bool) -> tuple[int, str]:
    """POST the test payload; returns (status, body)."""
    body = json.dumps(sample_payload(resolve)).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "tocsin-send-test-alert"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    target = url.rstrip("/") + "/api/v1/webhooks/alertmanager"
    if not target.startswith(("http://", "https://")):
        raise OSError(f"expected an http:// or https:// URL, not {url!r}")
    req = urllib.request.Request(target, data=body, headers=headers, method="POST")  # noqa: S310 - the URL is the operator's --url; only http(s) gets here
    try:
        with urllib.request.urlopen(req, timeout=15) as response:  # noqa: S310 - the URL is the operator's --url; only http(s) gets here
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
