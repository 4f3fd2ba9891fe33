"""The reference pages match the code: settings, the CLI's --help, the config file's keys, setting names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from store.domain.config_schema import ConfigError, parse_config
from tests.docs.markdown import ROOT, blocks, pages
from tools import gen_docs
from web import settings as settings_module
from web.settings import load_settings
from web.settings_catalog import BY_NAME, SETTINGS

# Names that look like settings but belong to something else: the compose stack's .env, the test suite,
# code constants named in CONTRIBUTING.md.
NOT_SETTINGS = {"NAME_FILE", "TEST_DATABASE_URL", "TOCSIN_PORT", "PROMETHEUS_PORT", "ALERTMANAGER_PORT",
                "POSTGRES_PASSWORD", "ROUTE_KEYS"}
CONFIG_PAGE = ROOT / "docs" / "configuration.md"


@pytest.mark.parametrize("name", sorted(gen_docs.PAGES))
def test_generated_page_is_current(name: str) -> None:
    assert (ROOT / name).read_text() == gen_docs.PAGES[name](), "run: python -m tools.gen_docs"


def test_gen_docs_check_mode_reports_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cli.md").write_text("old\n")
    monkeypatch.setattr(gen_docs, "ROOT", tmp_path)
    assert gen_docs.main(["--check"]) == 1
    assert gen_docs.main([]) == 0 and gen_docs.main(["--check"]) == 0


def test_every_subcommand_and_option_is_in_the_cli_page() -> None:
    page = (ROOT / "docs" / "cli.md").read_text()
    for words in ("tocsin serve", "tocsin migrate", "tocsin check-config", "tocsin send-test-alert",
                  "tocsin token create", "tocsin token list", "tocsin token revoke"):
        assert f"## `{words}`" in page
    for option in ("--url", "--token", "--resolve", "--name", "--role", "--user", "--json"):
        assert option in page


def _names_read(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> set[str]:
    seen: set[str] = set()
    real = settings_module.declared

    def record(name: str) -> Any:
        seen.add(name)
        return real(name)

    monkeypatch.setattr(settings_module, "declared", record)
    load_settings(environ)
    return seen


def test_every_declared_setting_is_read_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("x")
    key.write_text("x")
    full = {
        "HOST": "127.0.0.1", "PORT": "8081", "PUBLIC_URL": "https://tocsin.example", "TLS_CERT_FILE": str(cert),
        "TLS_KEY_FILE": str(key), "ANONYMOUS_READ": "true", "METRICS_ENABLED": "true", "METRICS_PORT": "9100",
        "LOG_LEVEL": "debug", "LOG_FORMAT": "json", "DATABASE_URL": "postgresql://u:p@h/db",
        "DB_MAX_OPEN_CONNS": "5", "DB_MAX_IDLE_CONNS": "1", "DB_CONN_MAX_LIFETIME": "60s",
        "TOCSIN_DATA_DIR": str(tmp_path), "TOCSIN_CONFIG": str(tmp_path / "tocsin.yml"), "TOCSIN_CONFIG_WATCH": "true",
        "OIDC_ISSUER": "https://id.example.com/realms/ops", "OIDC_CLIENT_ID": "tocsin", "OIDC_CLIENT_SECRET": "s",
        "OIDC_ROLE_CLAIM": "roles", "OIDC_ROLES": "ops=responder,leads=admin",
        "WEBHOOK_TOKEN": "t" * 20, "WEBHOOK_MAX_BYTES": "2048", "WEBHOOK_MAX_WAIT": "3s",
        "ALERTMANAGER_URL": "http://am:9093", "SLACK_CHANNEL": "C0123ABCD",
        "TELEGRAM_CHAT_ID": "-1001", "EMAIL_TO": "ops@example.com", "EMAIL_SMTP_HOST": "smtp.example.com",
        "EMAIL_SMTP_PORT": "465", "EMAIL_USERNAME": "u", "EMAIL_PASSWORD": "p", "EMAIL_FROM": "t@example.com",
        "EMAIL_TLS": "tls", "DELIVERY_GIVE_UP": "2h", "DELIVERY_RETRY_BASE": "1s", "DELIVERY_RETRY_CAP": "1m",
        "DELIVERY_LEASE": "30s", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
        "SLACK_APP_TOKEN": "xapp-1", "SLACK_COMMAND": "/oncall-incident", "SLACK_API_URL": "http://slack.test/api/",
        "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 30, "TELEGRAM_WEBHOOK_SECRET": "secret",
        "TELEGRAM_API_URL": "http://telegram.test", "HTTP_HEADER_TIMEOUT": "10s", "HTTP_BODY_TIMEOUT": "20s",
        "TRUSTED_PROXIES": "10.0.0.0/8", "CORS_ORIGINS": "https://ops.example.com", "AUTH_FAILURE_LIMIT": "5",
        "AUTH_FAILURE_WINDOW": "5m",
        "DISCORD_BOT_TOKEN": "d" * 60, "DISCORD_PUBLIC_KEY": "ab" * 32, "DISCORD_APPLICATION_ID": "1" * 18,
        "DISCORD_CHANNEL_ID": "2" * 18, "DISCORD_API_URL": "http://discord.test/api/v10",
        "MATTERMOST_URL": "http://mattermost.test", "MATTERMOST_BOT_TOKEN": "m" * 26,
        "MATTERMOST_ACTION_SECRET": "s" * 32, "MATTERMOST_COMMAND_TOKEN": "c" * 26, "MATTERMOST_CHANNEL_ID": "a" * 26,
        "PAGERDUTY_EVENTS_URL": "http://pagerduty.test/v2/enqueue", "JIRA_URL": "http://jira.test",
        "JIRA_EMAIL": "tocsin@example.com", "JIRA_API_TOKEN": "t",
        "ACTION_LINK_KEY": "k" * 32, "NTFY_URL": "http://ntfy.test", "NTFY_TOKEN": "tk_x",
        "PUSHOVER_APP_TOKEN": "p" * 30, "PUSHOVER_API_URL": "http://pushover.test",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "f" * 32, "TWILIO_FROM": "+14155550100",
        "TWILIO_API_URL": "http://twilio.test",
    }
    assert set(full) | {"SLACK_TOKEN", "JIRA_PAT"} == set(BY_NAME), "give every declared setting a value here"
    others = ("SLACK_BOT_TOKEN", "JIRA_EMAIL", "JIRA_API_TOKEN")  # read only when their alternatives are unset
    alias = {k: v for k, v in full.items() if k not in others} | {"SLACK_TOKEN": "xoxb-2", "JIRA_PAT": "p"}
    read = _names_read(full, monkeypatch) | _names_read(alias, monkeypatch)
    assert read == set(BY_NAME)


def test_reading_an_undeclared_setting_is_refused() -> None:
    env = settings_module._Env({"NOT_A_SETTING": "1"})
    with pytest.raises(KeyError, match="NOT_A_SETTING is not declared"):
        env.str("NOT_A_SETTING")


def test_the_secrets_are_the_declared_secrets() -> None:
    assert set(settings_module.SECRET_NAMES) == {s.name for s in SETTINGS if s.secret}
    assert {"DATABASE_URL", "WEBHOOK_TOKEN", "EMAIL_PASSWORD", "SLACK_SIGNING_SECRET"} <= set(
        settings_module.SECRET_NAMES
    )


def test_every_setting_named_in_the_docs_exists() -> None:
    name = r"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"
    pattern = re.compile(rf"(?m)`{name}(?:=[^`]*)?`|^\s*(?:export\s+)?{name}=")
    unknown = set()
    for page in [*pages(), ROOT / ".env.example"]:
        for match in pattern.finditer(page.read_text()):
            name = match.group(1) or match.group(2)
            base = name.removesuffix("_FILE")
            if name not in BY_NAME and base not in BY_NAME and name not in NOT_SETTINGS:
                unknown.add(f"{page.name}: {name}")
    assert not unknown, f"not settings (web/settings_catalog.py): {sorted(unknown)}"


def test_the_readme_settings_table_names_only_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table)) - {"NAME_FILE"}
    assert named and named <= set(BY_NAME)


def _documented_keys() -> dict[str, dict[str, bool]]:
    """Section path (`routes[]`) -> {key: required} from the reference tables of docs/configuration.md."""
    text = CONFIG_PAGE.read_text().split("## Reference", 1)[1]
    sections: dict[str, dict[str, bool]] = {}
    for heading, body in re.findall(r"^### (.+?)\n(.*?)(?=^### |\Z)", text, re.M | re.S):
        path = "" if heading == "top level" else heading.strip()
        rows = re.findall(r"^\| `(\w+)` \| (yes|no) \|", body, re.M)
        sections[path] = {key: required == "yes" for key, required in rows}
    return sections


def _probe(path: str) -> tuple[set[str], set[str]]:
    """The keys the real parser accepts at `path`, and those it requires, read from its own messages."""
    def nest(parts: list[str], leaf: dict[str, Any]) -> Any:
        if not parts:
            return leaf
        name, many = parts[0].removesuffix("[]"), parts[0].endswith("[]")
        inner = nest(parts[1:], leaf)
        return {name: [inner] if many else inner}

    document = nest(path.split(".") if path else [], {"zz_probe": 1})
    try:
        parse_config(document)
    except ConfigError as exc:
        at = re.sub(r"\[\]", "[0]", path)
        prefix = f"{at}." if at else ""
        lines = [f"{p.path}: {p.message}" for p in exc.problems]
        allowed = next(line for line in lines if line.startswith(f"{prefix}zz_probe: unknown key"))
        keys = set(allowed.split("expected one of ", 1)[1].split(", "))
        required = {line.split(":")[0].removeprefix(prefix) for line in lines
                    if line.endswith("missing; this key is required") and line.startswith(prefix)
                    and "." not in line.split(":")[0].removeprefix(prefix)}
        return keys, required
    raise AssertionError(f"the parser took an unknown key at {path!r}")


def test_the_config_reference_lists_exactly_the_keys_the_parser_takes() -> None:
    documented = _documented_keys()
    assert set(documented) == {"", "users[]", "users[].notification_rules[]", "schedules[]", "schedules[].layers[]",
                               "schedules[].overrides[]",
                               "schedules[].announce", "escalation_policies[]", "escalation_policies[].steps[]",
                               "routes[]", "routes[].sla", "sla.critical", "templates[]", "routes[].pagerduty",
                               "routes[].jira", "integrations[]", "webhooks[]", "heartbeats[]", "maintenance[]"}
    for path, keys in documented.items():
        allowed, required = _probe(path)
        assert set(keys) == allowed, path
        assert {k for k, needed in keys.items() if needed} == required, path


def test_every_yaml_block_with_config_sections_parses() -> None:
    """Config snippets anywhere in the docs (whole files or fragments) pass the real schema."""
    import yaml

    checked = 0
    for page in pages():
        for block in blocks(page):
            if block.lang != "yaml":
                continue
            data = yaml.safe_load(block.body)
            if isinstance(data, dict) and set(data) <= {"users", "schedules", "escalation_policies", "routes", "sla",
                                                        "templates", "integrations", "webhooks", "heartbeats",
                                                        "maintenance"}:
                parse_config(data)
                checked += 1
    assert checked >= 4


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings."""
    headings = re.findall(r"^#{1,6} (.+)$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_relative_links_point_to_existing_pages_and_headings() -> None:
    broken = []
    for page in pages():
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken
