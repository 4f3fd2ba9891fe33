"""EMAIL_* and DELIVERY_GIVE_UP settings: defaults, secrets from files, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.settings import SettingsError, load_settings

BASE = {"EMAIL_SMTP_HOST": "smtp.example.com", "EMAIL_FROM": "Tocsin <tocsin@example.com>"}


def test_email_is_off_without_a_host() -> None:
    settings = load_settings({"EMAIL_FROM": "tocsin@example.com"})
    assert settings.email is None and settings.delivery.give_up == 86400


def test_email_defaults() -> None:
    email = load_settings({**BASE, "PUBLIC_URL": "https://tocsin.example"}).email
    assert email is not None
    assert (email.smtp_port, email.tls, email.username, email.password) == (587, "starttls", None, None)
    assert email.public_url == "https://tocsin.example"


def test_password_from_a_file_is_a_secret(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    settings = load_settings({**BASE, "EMAIL_USERNAME": "u", "EMAIL_PASSWORD_FILE": str(secret), "EMAIL_TLS": "TLS"})
    assert settings.email is not None and settings.email.password == "s3cret" and settings.email.tls == "tls"
    assert "s3cret" in settings.secrets() and "s3cret" not in repr(settings.email)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"EMAIL_TLS": "ssl"}, "EMAIL_TLS='ssl': expected one of starttls, tls, none"),
        ({"EMAIL_SMTP_PORT": "70000"}, "EMAIL_SMTP_PORT=70000"),
        ({"EMAIL_USERNAME": "u"}, "EMAIL_USERNAME and EMAIL_PASSWORD"),
        ({"EMAIL_FROM": "not an address"}, "EMAIL_FROM='not an address': expected an email address"),
        ({"EMAIL_FROM": ""}, "EMAIL_FROM: expected the sender address"),
        ({"DELIVERY_GIVE_UP": "soon"}, "DELIVERY_GIVE_UP='soon': expected a duration"),
        ({"DELIVERY_GIVE_UP": "10s"}, "DELIVERY_GIVE_UP=10s: expected at least 1m"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match="^" + names.replace("(", r"\(").replace("+", r"\+")):
        load_settings({**BASE, **env})


def test_give_up_duration() -> None:
    assert load_settings({"DELIVERY_GIVE_UP": "2h"}).delivery.give_up == 7200


def test_retry_backoff_and_lease() -> None:
    settings = load_settings({"DELIVERY_RETRY_BASE": "200ms", "DELIVERY_RETRY_CAP": "2s", "DELIVERY_LEASE": "5s"})
    assert (settings.delivery.base, settings.delivery.cap, settings.delivery_lease) == (0.2, 2.0, 5.0)
    defaults = load_settings({})
    assert (defaults.delivery.base, defaults.delivery.cap, defaults.delivery_lease) == (2.0, 300.0, 120.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DELIVERY_RETRY_BASE": "10s", "DELIVERY_RETRY_CAP": "5s"}, "DELIVERY_RETRY_BASE=10s: expected at least"),
        ({"DELIVERY_RETRY_BASE": "1ms"}, "DELIVERY_RETRY_BASE=0.001s"),
        ({"DELIVERY_LEASE": "500ms"}, "DELIVERY_LEASE=0.5s: expected at least 1s"),
        ({"DELIVERY_LEASE": "later"}, "DELIVERY_LEASE='later': expected a duration"),
    ],
)
def test_bad_retry_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(")):
        load_settings(env)
