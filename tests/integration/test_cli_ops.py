"""`tocsin config apply|show` and `tocsin override add|list|delete` as an operator runs them, and two real
`tocsin serve` replicas following a version applied by SIGHUP to one of them."""

from __future__ import annotations

import json
import signal
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from tests.support.escalation import CONFIG_DATA
from tests.support.server import TocsinProcess, run_cli, tocsin_env
from tests.support.waiting import wait_for


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_config_apply_checks_stores_and_says_so(database_url: str, tmp_path: Path) -> None:
    good = write(tmp_path / "tocsin.yml", CONFIG_DATA)
    applied = run_cli(database_url, "config", "apply", str(good), "--by", "alice@ops1")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == (f"config version 1 applied ({good}); every replica switches within seconds")
    again = run_cli(database_url, "config", "apply", str(good))
    assert again.stdout.strip() == "unchanged: config version 1 is already this file"
    bad = write(tmp_path / "bad.yml", {**CONFIG_DATA, "chat_strangers": "everyone"})
    refused = run_cli(database_url, "config", "apply", str(bad))
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [f"{bad}: chat_strangers: got the text 'everyone'; expected act or read",
                                           "tocsin: nothing was applied"]
    shown = run_cli(database_url, "config", "show")
    assert shown.stdout.count("\n") == 1 and "\tcli\talice@ops1\t" in shown.stdout


def test_override_add_list_and_delete(database_url: str, tmp_path: Path) -> None:
    run_cli(database_url, "config", "apply", str(write(tmp_path / "tocsin.yml", CONFIG_DATA)))
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    added = run_cli(database_url, "override", "add", "--schedule", "primary", "--user", "carol",
                    "--from", start.isoformat(), "--until", "8h", "--by", "ops")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("override 1: carol on call in primary from ")
    clash = run_cli(database_url, "override", "add", "--schedule", "primary", "--user", "bob", "--from",
                    (start + timedelta(hours=1)).isoformat(), "--until", "1h")
    assert clash.returncode == 1 and "overlaps override 1 (carol from" in clash.stderr
    listed = run_cli(database_url, "override", "list", "--schedule", "primary")
    assert listed.stdout.startswith("1\tcarol\t") and "ops via cli" in listed.stdout
    deleted = run_cli(database_url, "override", "delete", "--schedule", "primary", "1")
    assert deleted.stdout.strip() == "override 1 of schedule primary deleted"
    bad_time = run_cli(database_url, "override", "add", "--schedule", "primary", "--user", "bob", "--from",
                       "tomorrow", "--until", "1h")
    assert bad_time.returncode == 1 and bad_time.stderr.startswith("tocsin: --from/--until: ")


def _readyz(url: str) -> dict:
    with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
        return json.load(response)


def test_sighup_on_one_replica_switches_both(database_url: str, tmp_path: Path) -> None:
    config = write(tmp_path / "tocsin.yml", CONFIG_DATA)
    env = tocsin_env(database_url, TOCSIN_CONFIG=str(config))
    replicas = [TocsinProcess(env, tmp_path / f"replica{i}.log") for i in (1, 2)]
    try:
        for replica in replicas:
            replica.start()
        assert [_readyz(r.url)["config"]["version"] for r in replicas] == [1, 1]  # stored once, by the first
        write(config, {**CONFIG_DATA, "chat_strangers": "act"})
        assert replicas[0].proc is not None
        replicas[0].proc.send_signal(signal.SIGHUP)
        wait_for(lambda: all(_readyz(r.url)["config"]["version"] == 2 for r in replicas), 20,
                 "both replicas on version 2", logs=lambda: replicas[0].log() + replicas[1].log())
        config.write_text("users: [")
        replicas[1].proc.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
        wait_for(lambda: "the config file was not applied, nothing changed" in replicas[1].log(), 20,
                 "the refusal in the log", logs=replicas[1].log)
        assert [_readyz(r.url)["config"]["version"] for r in replicas] == [2, 2]
    finally:
        for replica in replicas:
            replica.stop()
