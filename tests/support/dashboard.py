"""Helpers for dashboard tests: webhook bodies of distinct groups, posting them, Chromium for Playwright."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def alert_group(
    name: str, team: str = "payments", severity: str = "critical", alerts: int = 2,
    extra_labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A firing Alertmanager 0.25 webhook of one group (alertname=name) with `alerts` alerts."""
    common = {"alertname": name, "team": team, "service": "checkout", **(extra_labels or {})}
    body_alerts = []
    for n in range(alerts):
        body_alerts.append({
            "status": "firing",
            "labels": {**common, "instance": f"web-{n + 1}:9100", "severity": severity},
            "annotations": {"summary": f"{name} on web-{n + 1}", "runbook_url": "https://runbooks.example/" + name,
                            **(annotations or {})},
            "startsAt": "2026-11-26T19:01:58.600366924Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": f"http://prometheus.example/graph?g0.expr={name}",
            "fingerprint": hashlib.sha256(f"{name}/{n}".encode()).hexdigest()[:16],
        })
    return {
        "receiver": "tocsin", "status": "firing", "alerts": body_alerts,
        "groupLabels": {"alertname": name}, "commonLabels": common,
        "commonAnnotations": {"summary": f"{name} in {team}"},
        "externalURL": "http://alertmanager.example:9093", "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}', "truncatedAlerts": 0,
    }


def post_webhook(base_url: str, body: dict[str, Any], token: str | None = None) -> list[int]:
    """POST a webhook body to a running Tocsin; the incident ids it answers."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base_url}/api/v1/webhooks/alertmanager", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())["incidents"]


def artifacts_dir() -> Path:
    """Where screenshots go: TOCSIN_ARTIFACTS_DIR, else test-artifacts/ in the checkout."""
    path = Path(os.environ.get("TOCSIN_ARTIFACTS_DIR") or ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (no downloaded browser)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("chromium is not installed: apt-get install chromium (.ci/run installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
