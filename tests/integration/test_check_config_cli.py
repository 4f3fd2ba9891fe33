"""`tocsin check-config` as a user runs it: a subprocess, its exit code and its lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD = (Path(__file__).resolve().parents[1] / "fixtures" / "contract_config.yml").read_text()


def check_config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m web.cli check-config` in an empty directory with only these settings."""
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "web.cli", "check-config"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_good_file_is_ok(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yml"
    path.write_text(GOOD)
    result = check_config(tmp_path, TOCSIN_CONFIG=str(path), SLACK_CHANNEL="C0OPS", TELEGRAM_CHAT_ID="-1001,-1002:3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
    assert str(path) in result.stdout
    assert result.stderr == ""


def test_no_config_file_is_ok(tmp_path: Path) -> None:
    result = check_config(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: settings and no config file (the default route applies)"


def test_a_bad_file_gives_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    bad = (
        GOOD.replace("Europe/Berlin", "Europe/Berlinn")
        .replace("user:carol", "user:nobody")
        .replace("escalation: default", "escalation: none")
        .replace("reopen_within: 5m", "reopen_within: 5 minutes")
    )
    bad += "  - match: ['severity=\"critical\"', 'team=~\"(\"']\n"
    path.write_text(bad)
    result = check_config(tmp_path, TOCSIN_CONFIG=str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "schedules[0].timezone",
        "escalation_policies[0].steps[1].notify[0]",
        "routes[0].escalation",
        "routes[0].reopen_within",
        "routes[1].match[1]",
    ]
    assert all(line.startswith(f"{path}: ") and "; expected " in line for line in lines)


def test_a_yaml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("routes:\n  - match: ['a=\"b\"'\n    email: [x@example.com]\n")
    result = check_config(tmp_path, TOCSIN_CONFIG=str(path))
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{path}: line 3, column 5: YAML syntax error: ")


def test_a_bad_setting_gives_one_line_naming_it(tmp_path: Path) -> None:
    result = check_config(tmp_path, PORT="abc")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "PORT" in line and "expected a whole number" in line
    result = check_config(tmp_path, TELEGRAM_CHAT_ID="ops")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "TELEGRAM_CHAT_ID" in line and "expected a Telegram chat id" in line


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    result = check_config(tmp_path, TOCSIN_CONFIG=str(tmp_path / "nope.yml"))
    assert result.returncode == 1
    expected = f"{tmp_path / 'nope.yml'}: no such file; expected TOCSIN_CONFIG to name the config file"
    assert result.stderr.splitlines() == [expected]
