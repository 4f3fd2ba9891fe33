"""The default route from the settings, and the config as the composition root loads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.domain.routing import Route
from web.config_loader import config_problems, default_route, load, load_config_or_exit, load_routes_or_exit
from web.settings import ChannelDefaults, SettingsError, load_settings

CONFIG = """
users: [{id: alice, name: Alice}]
routes:
  - id: db
    match: ['team="db"']
    telegram_chat: "-1009"
"""


def test_no_channel_settings_means_no_default_channels() -> None:
    assert load_settings({}).channels == ChannelDefaults()


def test_channel_settings_are_read_and_split() -> None:
    settings = load_settings(
        {"SLACK_CHANNEL": "C0OPS", "TELEGRAM_CHAT_ID": "-1001, -1002:42,", "EMAIL_TO": "a@example.com,b@example.org"}
    )
    assert settings.channels == ChannelDefaults("C0OPS", ("-1001", "-1002:42"), ("a@example.com", "b@example.org"))


def test_channel_settings_have_file_variants(tmp_path: Path) -> None:
    chats = tmp_path / "chats"
    chats.write_text("-1001,-1002\n")
    assert load_settings({"TELEGRAM_CHAT_ID_FILE": str(chats)}).channels.telegram_chats == ("-1001", "-1002")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SLACK_CHANNEL", "#ops", "SLACK_CHANNEL: '#ops' is not a Slack channel id; expected a Slack channel id"),
        ("SLACK_CHANNEL", "C0A,C0B", "SLACK_CHANNEL: expected one Slack channel id"),
        ("TELEGRAM_CHAT_ID", "-1001,ops", "TELEGRAM_CHAT_ID: 'ops' is not a Telegram chat; expected a Telegram"),
        ("TELEGRAM_CHAT_ID", "-1001:", "TELEGRAM_CHAT_ID: '-1001:' is not a Telegram chat"),
        ("EMAIL_TO", "ops@example.com;dev@example.com", "EMAIL_TO: 'ops@example.com;dev@example.com' is not an email"),
    ],
)
def test_bad_channel_settings_name_the_variable(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value})
    assert str(caught.value).startswith(expected)


def test_the_default_route_carries_the_default_channels() -> None:
    settings = load_settings({"SLACK_CHANNEL": "C0OPS", "TELEGRAM_CHAT_ID": "-1001,-1002", "EMAIL_TO": "a@example.com"})
    assert default_route(settings) == Route(
        id="default", slack_channel="C0OPS", telegram_chats=("-1001", "-1002"), email=("a@example.com",)
    )


def test_without_a_config_file_only_the_default_route_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no tocsin.yml here
    settings = load_settings({"SLACK_CHANNEL": "C0OPS"})
    config = load(settings)
    assert config.users == () and config.routes.routes == ()
    assert config.routes.route_for({"team": "db"}) == default_route(settings)
    assert config_problems(settings) == []


def test_the_config_file_and_the_default_route_together(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yml"
    path.write_text(CONFIG)
    settings = load_settings({"TOCSIN_CONFIG": str(path), "EMAIL_TO": "fallback@example.com"})
    assert config_problems(settings) == []
    config = load_config_or_exit(settings)
    assert config.user("alice") is not None
    routes = load_routes_or_exit(settings)
    assert routes.route_for({"team": "db"}).telegram_chats == ("-1009",)
    assert routes.route_for({"team": "web"}).email == ("fallback@example.com",)


def test_tocsin_yml_in_the_working_directory_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tocsin.yml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    assert [r.id for r in load(load_settings({})).routes.routes] == ["db"]


def test_a_bad_file_gives_every_problem_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tocsin.yml"
    path.write_text(CONFIG.replace('team="db"', "team=~(").replace("-1009", "chat"))
    settings = load_settings({"TOCSIN_CONFIG": str(path)})
    expected = [
        f"{path}: routes[0].match[0]: invalid regex '(' (missing ), unterminated subpattern at position 0); "
        "expected an RE2 regular expression",
        f"{path}: routes[0].telegram_chat: got the text 'chat'; expected a Telegram chat id such as "
        '"-1001234567890", or "chat_id:topic_id" for a forum topic',
    ]
    assert config_problems(settings) == expected
    with pytest.raises(SystemExit) as caught:
        load_routes_or_exit(settings)
    assert caught.value.code == 1
    assert capsys.readouterr().err.splitlines() == expected


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    settings = load_settings({"TOCSIN_CONFIG": str(tmp_path / "nope.yml")})
    assert config_problems(settings) == [
        f"{tmp_path / 'nope.yml'}: no such file; expected TOCSIN_CONFIG to name the config file"
    ]
