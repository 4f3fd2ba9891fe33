"""The README stays true: its config example loads, and CI runs exactly its test command."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from store.domain.config_schema import parse_config

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, re.S)


def test_the_config_example_is_valid() -> None:
    block = re.search(r"## The config file.*?```yaml\n(.*?)```", README, re.S)
    assert block is not None
    config = parse_config(yaml.safe_load(block.group(1)))
    assert [p.id for p in config.policies] == ["default"]
    assert config.routes.routes[0].escalation == "default"


def test_ci_runs_the_readme_test_command() -> None:
    test_command = next(b.strip() for b in shell_blocks() if "pytest" in b)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_quick_start_is_one_command_that_installs_and_serves() -> None:
    first = shell_blocks()[0].strip()
    assert "\n" not in first and "pip install ." in first and first.endswith("tocsin serve")
