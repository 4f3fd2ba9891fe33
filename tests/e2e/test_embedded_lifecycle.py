"""`tocsin serve` on the embedded PostgreSQL: data kept across restarts, clean stop, no stray server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil

from tests.support.server import ROOT, TocsinProcess
from web.testalert import sample_payload


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """Running postgres servers whose data directory is pgdata."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and str(pgdata) in " ".join(cmdline):
            found.append(proc)
    return found


def post_test_alert(url: str) -> list[int]:
    body = json.dumps(sample_payload(resolve=False)).encode()
    request = urllib.request.Request(
        url + "/api/v1/webhooks/alertmanager", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["incidents"]


def test_embedded_database_survives_restarts_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    pgdata = (data_dir / "postgres").resolve()
    env = {"TOCSIN_DATA_DIR": str(data_dir), "DATABASE_URL": ""}
    first = TocsinProcess(env, tmp_path / "serve.log").start()
    assert "embedded PostgreSQL" in first.log()
    ids = post_test_alert(first.url)
    assert first.stop(signal.SIGTERM) == 0
    assert postgres_processes(pgdata) == []
    assert "embedded PostgreSQL stopped" in first.log()

    second = TocsinProcess(env, tmp_path / "serve2.log").start()
    assert post_test_alert(second.url) == ids  # same open incident: the data was kept
    migrate = subprocess.run(
        [sys.executable, "-m", "web.cli", "migrate"],
        cwd=ROOT,
        env=second.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert post_test_alert(second.url) == ids  # migrate beside a running server left it running
    assert second.stop(signal.SIGINT) == 0
    assert postgres_processes(pgdata) == []


def test_a_killed_server_leaves_no_lock_that_blocks_the_next_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    pgdata = (data_dir / "postgres").resolve()
    env = {"TOCSIN_DATA_DIR": str(data_dir), "DATABASE_URL": ""}
    first = TocsinProcess(env, tmp_path / "serve.log").start()
    ids = post_test_alert(first.url)
    first.stop(signal.SIGKILL)
    second = TocsinProcess(env, tmp_path / "serve2.log").start()
    assert post_test_alert(second.url) == ids
    assert second.stop(signal.SIGTERM) == 0
    assert postgres_processes(pgdata) == []
