"""The real Alertmanager (Debian's prometheus-alertmanager) on loopback, driven with amtool."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tests.support.server import free_port
from tests.support.waiting import wait_ready

BINARY = "prometheus-alertmanager"


def available() -> bool:
    """True when the Alertmanager binary and amtool are installed."""
    return shutil.which(BINARY) is not None and shutil.which("amtool") is not None


def rfc3339(t: datetime) -> str:
    """An instant as amtool takes it."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Alertmanager:
    """One Alertmanager whose only receiver posts to Tocsin's webhook with a bearer token (or is `receiver`, such as
    a pagerduty_configs receiver)."""

    def __init__(self, workdir: Path, webhook_url: str, token: str | None, group_by: list[str] | None = None,
                 receiver: dict[str, Any] | None = None) -> None:
        self.workdir = workdir
        self.receiver = receiver
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.webhook_url = webhook_url
        self.token = token
        self.group_by = group_by or ["alertname"]
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> dict[str, Any]:
        webhook: dict[str, Any] = {"url": self.webhook_url, "send_resolved": True, "max_alerts": 0}
        if self.token:
            webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": self.token}}
        return {
            "route": {
                "receiver": "tocsin",
                "group_by": self.group_by,
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "tocsin", **(self.receiver or {"webhook_configs": [webhook]})}],
        }

    def start(self, timeout: float = 30) -> Alertmanager:
        """Start it (no clustering, so the first webhook is not held back by gossip) and wait until ready."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(yaml.safe_dump(self._config()))
        log = (self.workdir / "alertmanager.log").open("ab")
        cmd = [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--web.external-url={self.url}",
            "--cluster.listen-address=",
        ]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        wait_ready(self.url + "/-/ready", self.proc, "Alertmanager", self.log, timeout)
        return self

    def stop(self) -> None:
        """Stop it."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def log(self) -> str:
        """What Alertmanager printed."""
        path = self.workdir / "alertmanager.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def amtool(self, *args: str) -> str:
        """Run amtool against this Alertmanager."""
        cmd = ["amtool", f"--alertmanager.url={self.url}", "--no-version-check", *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30).stdout

    def fire(self, labels: dict[str, str], starts_at: datetime, annotations: dict[str, str] | None = None) -> None:
        """Post a firing alert with amtool."""
        args = ["alert", "add", *(f"{k}={v}" for k, v in labels.items()), f"--start={rfc3339(starts_at)}"]
        args += [f"--annotation={k}={v}" for k, v in (annotations or {}).items()]
        self.amtool(*args)

    def resolve(self, labels: dict[str, str], starts_at: datetime) -> None:
        """Post the same alert with an end time now, which resolves it."""
        now = datetime.now(UTC)
        args = ["alert", "add", *(f"{k}={v}" for k, v in labels.items())]
        self.amtool(*args, f"--start={rfc3339(starts_at)}", f"--end={rfc3339(now)}")

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Post many alerts at once through the API v2 (as Prometheus does); each has labels, startsAt, endsAt."""
        body = json.dumps(alerts).encode()
        request = urllib.request.Request(
            self.url + "/api/v2/alerts", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.status

    def alerts(self) -> list[dict[str, Any]]:
        """Alertmanager's own view of its alerts (API v2)."""
        with urllib.request.urlopen(self.url + "/api/v2/alerts", timeout=5) as response:
            return json.loads(response.read())
