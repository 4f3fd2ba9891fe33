"""Schemathesis against a live server's own OpenAPI document: no generated request gets a 5xx or a
response that breaks the documented schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.conftest import load_sample
from tests.support.server import run_cli, serving

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def _st() -> list[str]:
    found = shutil.which("st", path=str(Path(sys.executable).parent))
    assert found, "schemathesis is not installed (pip install -e .[test])"
    return [found]


def _post_webhook(url: str, name: str) -> None:
    request = urllib.request.Request(
        f"{url}/api/v1/webhooks/alertmanager",
        data=json.dumps(load_sample(name)).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_generated_requests_get_no_5xx_and_conforming_answers(database_url: str, tmp_path: Path) -> None:
    created = run_cli(database_url, "token", "create", "--name", "fuzz", "--role", "admin")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    # Schemathesis also sends wrong tokens on purpose: a high limit keeps its valid requests from the throttle's 429.
    with serving(database_url, AUTH_FAILURE_LIMIT="10000") as url:
        for name in ("01_firing_group_2alerts_amtool.json", "03_firing_group_mixed_one_resolved.json"):
            _post_webhook(url, name)
        with urllib.request.urlopen(f"{url}/api/v1/openapi.json", timeout=10) as response:
            operations = sum(len(ops) for ops in json.load(response)["paths"].values())
        # Two bounded runs: coverage (boundary and invalid values of every parameter), then random fuzzing.
        for phase in ("coverage", "fuzzing"):
            run = subprocess.run(
                [*_st(), "run", f"{url}/api/v1/openapi.json", "--checks", CHECKS, "--max-examples", "10",
                 "--phases", phase, "--seed", "1", "--header", f"Authorization: Bearer {token}",
                 "--request-timeout", "10", "--max-time", "20", "--no-color", "--report-dir", str(tmp_path)],
                capture_output=True, text=True, timeout=180, cwd=tmp_path,
            )
            assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
            assert "passed" in run.stdout and f"{operations} selected" in run.stdout
