"""The real Prometheus (Debian's `prometheus`) on loopback, evaluating rules and sending alerts to Alertmanager."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support.server import free_port
from tests.support.waiting import wait_ready

BINARY = "prometheus"


def available() -> bool:
    """True when the Prometheus binary is installed."""
    return shutil.which(BINARY) is not None


class Prometheus:
    """One Prometheus that evaluates `rules.yml` every second and sends to one Alertmanager."""

    def __init__(self, workdir: Path, alertmanager_url: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.alertmanager_target = alertmanager_url.removeprefix("http://").rstrip("/")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def rules_path(self) -> Path:
        """The rule file Prometheus loads (rewrite it, then reload())."""
        return self.workdir / "rules.yml"

    def write_rules(self, groups: list[dict[str, Any]]) -> None:
        """Replace the rule file with these rule groups."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.rules_path.write_text(yaml.safe_dump({"groups": groups}))

    def start(self, timeout: float = 30) -> Prometheus:
        """Start it (lifecycle API on, alerts resent every second) and wait until ready."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"evaluation_interval": "1s", "scrape_interval": "15s"},
                    "rule_files": [str(self.rules_path)],
                    "alerting": {"alertmanagers": [{"static_configs": [{"targets": [self.alertmanager_target]}]}]},
                }
            )
        )
        log = (self.workdir / "prometheus.log").open("ab")
        cmd = [
            BINARY,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--web.external-url={self.url}",
            "--web.enable-lifecycle",
            "--rules.alert.resend-delay=1s",
        ]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        wait_ready(self.url + "/-/ready", self.proc, "Prometheus", self.log, timeout)
        return self

    def reload(self) -> None:
        """Re-read the configuration and the rule files (POST /-/reload)."""
        request = urllib.request.Request(self.url + "/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status != 200:
                raise RuntimeError(f"Prometheus reload answered {response.status}: {self.log()}")

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus's own view of its active alerts."""
        with urllib.request.urlopen(self.url + "/api/v1/alerts", timeout=5) as response:
            return json.loads(response.read())["data"]["alerts"]

    def stop(self) -> None:
        """Stop it."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        """What Prometheus printed."""
        path = self.workdir / "prometheus.log"
        return path.read_text(errors="replace") if path.exists() else ""
