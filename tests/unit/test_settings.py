"""Settings from the environment: defaults, NAME_FILE secrets, and one clear line per bad value."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from web.logs import SecretFilter
from web.settings import SettingsError, load_settings, parse_duration


def test_defaults() -> None:
    settings = load_settings({})
    assert (settings.http.host, settings.http.port) == ("0.0.0.0", 8080)
    assert settings.http.public_url == "http://localhost:8080"
    assert settings.database.url is None
    assert (settings.database.max_open_conns, settings.database.max_idle_conns) == (10, 2)
    assert settings.database.conn_max_lifetime == 300
    assert settings.webhook.token is None and settings.webhook.max_bytes == 5_242_880
    assert settings.log.level == "info" and settings.log.format == "text"
    assert settings.http.metrics_enabled and not settings.http.anonymous_read


def test_values_are_read_and_typed() -> None:
    settings = load_settings(
        {
            "PORT": "9000",
            "DATABASE_URL": "postgresql://u:p@db/tocsin",
            "DB_MAX_OPEN_CONNS": "20",
            "DB_MAX_IDLE_CONNS": "5",
            "DB_CONN_MAX_LIFETIME": "10m",
            "LOG_FORMAT": "json",
            "ANONYMOUS_READ": "true",
            "PUBLIC_URL": "https://tocsin.example/",
        }
    )
    assert settings.http.port == 9000 and settings.http.public_url == "https://tocsin.example"
    assert settings.database.max_open_conns == 20 and settings.database.conn_max_lifetime == 600
    assert settings.log.format == "json" and settings.http.anonymous_read


def test_secret_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-a-file\n")
    settings = load_settings({"WEBHOOK_TOKEN_FILE": str(secret)})
    assert settings.webhook.token == "from-a-file"
    assert "from-a-file" in settings.secrets()


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"PORT": "eighty"}, "PORT='eighty': expected a whole number"),
        ({"PORT": "70000"}, "PORT=70000: expected a number from 1 to 65535"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud': expected one of"),
        ({"ANONYMOUS_READ": "maybe"}, "ANONYMOUS_READ='maybe': expected true or false"),
        ({"DB_CONN_MAX_LIFETIME": "forever"}, "DB_CONN_MAX_LIFETIME='forever': expected a duration"),
        ({"DB_MAX_OPEN_CONNS": "5", "DB_MAX_IDLE_CONNS": "9"}, "DB_MAX_IDLE_CONNS=9: expected a number from 0 to 5"),
        ({"PUBLIC_URL": "tocsin.example"}, "PUBLIC_URL: expected a URL"),
        ({"TLS_CERT_FILE": "/nonexistent.pem"}, "TLS_CERT_FILE='/nonexistent.pem': expected an existing"),
        ({"WEBHOOK_TOKEN_FILE": "/nonexistent"}, "WEBHOOK_TOKEN_FILE: cannot read"),
        ({"OIDC_ISSUER": "id.example.com"}, "OIDC_ISSUER: expected a URL starting with http:// or https://"),
        ({"OIDC_ISSUER": "https://id.example.com", "OIDC_ROLES": "ops=responder"}, "OIDC_CLIENT_ID: expected"),
        ({"OIDC_ISSUER": "https://id.example.com", "OIDC_CLIENT_ID": "t"}, "OIDC_ROLES: expected groups mapped"),
        ({"OIDC_ISSUER": "https://id.example.com", "OIDC_CLIENT_ID": "t", "OIDC_ROLES": "ops=root"},
         "OIDC_ROLES: 'ops=root': expected group=role with role viewer, responder or admin"),
        ({"TOCSIN_CONFIG_WATCH": "often"}, "TOCSIN_CONFIG_WATCH='often': expected true or false"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_a_bad_database_url_does_not_echo_the_password() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"DATABASE_URL": "mysql://user:hunter2@db/x"})
    assert "DATABASE_URL" in str(info.value) and "hunter2" not in str(info.value)


def test_durations() -> None:
    assert [parse_duration(t) for t in ("30s", "15m", "2h", "1d", "45", "500ms")] == [30, 900, 7200, 86400, 45, 0.5]


def test_secrets_never_reach_a_log_line() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token is %s", ("hunter2-secret",), None)
    SecretFilter(["hunter2-secret"]).filter(record)
    assert record.getMessage() == "token is [secret]"


def test_json_log_lines_are_objects(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from web.logs import configure_logging
    from web.settings import LogSettings

    configure_logging(LogSettings(level="info", format="json"), ["hunter2-secret"])
    logging.getLogger("tocsin.test").info("token hunter2-secret used")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "tocsin.test"
    assert entry["message"] == "token [secret] used"
    logging.getLogger().handlers.clear()


def test_telegram_is_off_without_a_token_and_on_with_one(tmp_path: Path) -> None:
    assert load_settings({}).telegram is None
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret_value\n")
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_WEBHOOK_SECRET_FILE": str(secret_file),
            "TELEGRAM_CHAT_ID": "-1001,-1002:7",
            "TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
            "PUBLIC_URL": "https://tocsin.example.com/",
            "ALERTMANAGER_URL": "http://am:9093",
        }
    )
    telegram = settings.telegram
    assert telegram is not None and telegram.bot_token == token
    assert telegram.webhook_secret == "s3cret_value" and telegram.webhook_mode
    assert [str(c) for c in telegram.chats] == ["-1001", "-1002:7"]
    assert telegram.api_url == "http://127.0.0.1:9"
    assert telegram.webhook_url == "https://tocsin.example.com/telegram/webhook"
    assert telegram.alertmanager_url == "http://am:9093"
    assert token in settings.secrets() and "s3cret_value" in settings.secrets()


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"TELEGRAM_BOT_TOKEN": "nope"}, "TELEGRAM_BOT_TOKEN: expected a token"),
        (
            {"TELEGRAM_BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "TELEGRAM_WEBHOOK_SECRET": "a b"},
            "TELEGRAM_WEBHOOK_SECRET",
        ),
    ],
)
def test_bad_telegram_values_are_settings_errors(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        load_settings(env)


def test_single_sign_on_settings() -> None:
    settings = load_settings({"OIDC_ISSUER": "https://id.example.com/realms/ops/", "OIDC_CLIENT_ID": "tocsin",
                              "OIDC_CLIENT_SECRET": "s", "OIDC_ROLES": " ops = responder , cn=leads=admin"})
    assert settings.oidc is not None and settings.oidc.issuer == "https://id.example.com/realms/ops"
    assert settings.oidc.roles == (("ops", "responder"), ("cn=leads", "admin"))
    assert settings.oidc.role_claim == "groups" and "s" in settings.secrets()
    assert load_settings({}).oidc is None
