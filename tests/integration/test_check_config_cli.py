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


INTEGRATIONS = """
integrations:
  - {id: sentry, kind: pagerduty_events, routing_key: 0123456789abcdef0123456789abcdef, labels: {team: web}}
webhooks:
  - {id: audit, url: "https://hooks.example.com/tocsin", secret: whsec-0123456789abcdef}
routes:
  - {id: web, match: ['team="web"'], pagerduty: {routing_key: fedcba9876543210fedcba9876543210},
     jira: {project: OPS, issue_type: Incident}}
"""


def test_integrations_are_checked_with_the_settings_they_need(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yml"
    path.write_text(INTEGRATIONS)
    result = check_config(tmp_path, TOCSIN_CONFIG=str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{path}: routes[0].jira: JIRA_URL is not set; expected JIRA_URL with "
                                          "JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT (Data Center) for "
                                          "routes that open Jira issues"]
    jira = {"JIRA_URL": "https://example.atlassian.net", "JIRA_EMAIL": "tocsin@example.com", "JIRA_API_TOKEN": "t"}
    assert check_config(tmp_path, TOCSIN_CONFIG=str(path), **jira).returncode == 0
    both = check_config(tmp_path, TOCSIN_CONFIG=str(path), JIRA_PAT="p", **jira)
    assert both.returncode == 1 and both.stderr.startswith("tocsin: JIRA_PAT: expected either JIRA_PAT")


def test_bad_integration_keys_are_one_line_each_and_no_secret_is_repeated(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yml"
    path.write_text(INTEGRATIONS.replace("0123456789abcdef0123456789abcdef", "short-key-of-sentry")
                    .replace("https://hooks.example.com/tocsin", "hooks.example.com")
                    .replace("issue_type: Incident", "issue_typ: Incident"))
    result = check_config(tmp_path, TOCSIN_CONFIG=str(path))
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 4, lines
    assert any(line.startswith(f"{path}: integrations[0].routing_key: got text that is not a usable secret")
               for line in lines)
    assert any(line.startswith(f"{path}: webhooks[0].url: not a web address") for line in lines)
    assert any(line.startswith(f"{path}: routes[0].jira.issue_typ: unknown key") for line in lines)
    assert any(line.startswith(f"{path}: routes[0].jira.issue_type: missing") for line in lines)
    assert "short-key-of-sentry" not in result.stderr
