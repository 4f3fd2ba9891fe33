"""Reading the config file: YAML errors with their line, keys written twice, unreadable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.config import ConfigFileError, load_config, read_yaml
from store.domain.routing import Route

GOOD = """
users:
  - {id: alice, name: Alice, email: alice@example.com}
routes:
  - id: pages
    match: ['severity="critical"']
    email: [ops@example.com]
"""


def lines_for(path: Path, text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ConfigFileError) as caught:
        load_config(path)
    return caught.value.lines


def test_a_good_file_loads_with_the_default_route(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yml"
    path.write_text(GOOD)
    default = Route(id="default", slack_channel="C0DEF")
    config = load_config(path, default)
    assert [u.id for u in config.users] == ["alice"]
    assert config.routes.route_for({"severity": "critical"}).email == ("ops@example.com",)
    assert config.routes.route_for({"severity": "info"}) == default


def test_an_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("# nothing yet\n")
    assert load_config(path).routes.routes == ()


def test_schema_problems_name_the_file_and_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    lines = lines_for(path, GOOD.replace("critical", 'crit"ical').replace("ops@example.com", "ops"))
    assert lines == [
        f'{path}: routes[0].match[0]: \'severity="crit"ical"\': the value has an unescaped double quote; '
        'expected \\" for a quote in it',
        f"{path}: routes[0].email[0]: got the text 'ops'; expected an email address such as ops@example.com",
    ]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("routes:\n  - match: [a\n", "line 3, column 1", "a flow sequence started at line 2: expected ',' or ']'"),
        ("users:\n  - id: a\n   name: b\n", "line 3, column 4", "a block collection started at line 2: expected"),
        ("users:\n\t- id: a\n", "line 2, column 1", "found character '\\t' that cannot start any token"),
        ("routes: []\n---\nusers: []\n", "line 2, column 1", "expected a single document in the stream"),
        ('routes:\n  - email: "a@b.c\n', "line 3, column 1", "quoted scalar started at line 2: found unexpected end"),
    ],
)
def test_yaml_syntax_errors_give_their_line(tmp_path: Path, text: str, where: str, what: str) -> None:
    path = tmp_path / "broken.yml"
    (line,) = lines_for(path, text)
    assert line.startswith(f"{path}: {where}: YAML syntax error: ")
    assert what in line
    assert line.endswith("expected valid YAML (check indentation and quotes)")


def test_a_key_written_twice_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "twice.yml"
    text = "routes:\n  - id: a\n    email: [a@b.c]\n    email: [d@e.f]\nroutes: []\n"
    assert lines_for(path, text) == [
        f"{path}: line 4: key 'email' is written twice in one mapping; expected each key once",
        f"{path}: line 5: key 'routes' is written twice in one mapping; expected each key once",
    ]


def test_merge_keys_are_not_mistaken_for_keys_written_twice() -> None:
    text = "base: &b {auto_resolve: false, reopen_within: 1m}\nroute: {<<: *b, reopen_within: 2m}\n"
    assert read_yaml(text, "x.yml")["route"] == {"auto_resolve": False, "reopen_within": "2m"}


def test_yaml_is_read_safely() -> None:
    with pytest.raises(ConfigFileError, match="could not determine a constructor"):
        read_yaml("routes: !!python/object/apply:os.system ['true']\n", "evil.yml")


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    with pytest.raises(ConfigFileError) as caught:
        load_config(missing)
    assert caught.value.lines == [f"{missing}: no such file; expected TOCSIN_CONFIG to name the config file"]
    with pytest.raises(ConfigFileError) as caught:
        load_config(tmp_path)
    assert caught.value.lines == [f"{tmp_path}: is a directory; expected TOCSIN_CONFIG to name a YAML file"]
    (line,) = lines_for(tmp_path / "latin1.yml", "users:\n  - {id: j, name: J\xe9r\xf4me}\n".encode("latin-1"))
    assert "is not UTF-8; expected a UTF-8 text file" in line
