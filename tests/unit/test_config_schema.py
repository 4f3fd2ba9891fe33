"""The config file's schema: the contract's example, and each kind of problem with its path."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from store.domain.config_fields import parse_duration
from store.domain.config_schema import Config, ConfigError, parse_config
from store.domain.escalation import Policy, Step, Target
from store.domain.matchers import Matcher
from store.domain.routing import DEFAULT_REOPEN_WITHIN, Route
from store.domain.schedule import Announce, Layer, Override, Rotation, Schedule
from store.domain.users import User

# CONTRACT section 7's example, verbatim, plus the users it names.
CONTRACT_EXAMPLE = (Path(__file__).resolve().parents[1] / "fixtures" / "contract_config.yml").read_text()
BERLIN_WINTER = timezone(timedelta(hours=1))


def example() -> dict[str, Any]:
    """A fresh copy of the contract's example, to spoil one part of it."""
    return copy.deepcopy(yaml.safe_load(CONTRACT_EXAMPLE))


def problems(data: object) -> list[str]:
    """The problem lines for this document (failing the test when there is none)."""
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.lines("tocsin.yml")


def only_problem(data: object) -> str:
    lines = problems(data)
    assert len(lines) == 1, lines
    return lines[0]


def test_the_contract_example_is_valid_and_complete() -> None:
    config = parse_config(yaml.safe_load(CONTRACT_EXAMPLE))
    assert config.users == (
        User("alice", "Alice Example", "alice@example.com", "U01ALICE", 111111),
        User("bob", "Bob Example"),
        User("carol", "Carol Example", "carol@example.com"),
    )
    assert config.schedules == (
        Schedule(
            id="primary",
            timezone="Europe/Berlin",
            layers=(
                Layer(
                    participants=("alice", "bob"),
                    rotation=Rotation(kind="weekly", handoff_time=time(9, 0), handoff_weekday=0),
                    start=date(2026, 1, 5),
                ),
            ),
            overrides=(
                Override(
                    "carol",
                    datetime(2026, 12, 24, 18, 0, tzinfo=BERLIN_WINTER),
                    datetime(2026, 12, 27, 9, 0, tzinfo=BERLIN_WINTER),
                ),
            ),
            announce=Announce(slack_channel="C0OPS", telegram_chat="-1001"),
        ),
    )
    assert config.policies == (
        Policy(
            id="default",
            steps=(
                Step(timedelta(0), (Target("schedule", "primary"),)),
                Step(timedelta(minutes=15), (Target("user", "carol"), Target("slack_channel", "C0LEADS"))),
            ),
            repeat=1,
        ),
    )
    assert config.routes.routes == (
        Route(
            id="routes[0]",
            matchers=(Matcher("severity", "=", "critical"),),
            escalation="default",
            slack_channel="C0OPS",
            telegram_chats=("-1001",),
            email=("ops@example.com",),
            group_by=("alertname", "cluster"),
            auto_resolve=True,
            reopen_within=timedelta(minutes=5),
        ),
    )
    assert config.routes.default == Route(id="default")
    assert config.user("alice") == config.users[0]
    assert config.user_by_telegram_id(111111) == config.users[0]
    assert config.user_by_slack_id("U01ALICE") == config.users[0]
    assert config.schedule("primary") == config.schedules[0]
    assert config.policy("default") == config.policies[0]
    assert config.user("nobody") is None and config.schedule("x") is None and config.policy("x") is None


def test_an_empty_file_is_an_empty_config_with_the_given_default_route() -> None:
    default = Route(id="default", slack_channel="C0DEF")
    config = parse_config(None, default)
    assert config == Config(routes=config.routes)
    assert config.routes.routes == () and config.routes.default == default
    assert parse_config({"users": [], "routes": None}).routes.routes == ()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (["routes"], "tocsin.yml: got a list; expected a mapping with keys users, schedules"),
        ({"route": []}, "tocsin.yml: route: unknown key; expected one of users, schedules, escalation_policies"),
        ({"users": {"id": "a"}}, "tocsin.yml: users: got a mapping; expected a list of users"),
        ({"routes": "all"}, "tocsin.yml: routes: got the text 'all'; expected a list of routes"),
    ],
)
def test_top_level_problems(data: object, expected: str) -> None:
    assert only_problem(data).startswith(expected)


# --- users ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"id": "dave", "pager": "1"}, "users[3].pager: unknown key; expected one of id, name, email"),
        ({"name": "Dave"}, "users[3].id: missing; this key is required"),
        ({"id": "da ve"}, "users[3].id: got the text 'da ve'; expected letters, digits"),
        ({"id": 7}, "users[3].id: got the number 7; expected letters, digits"),
        ({"id": "alice"}, "users[3].id: duplicate id 'alice' (also at users[0].id); expected each id once"),
        ({"id": "dave", "email": "dave"}, "users[3].email: got the text 'dave'; expected an email address"),
        ({"id": "dave", "email": "dave@x"}, "users[3].email: got the text 'dave@x'; expected an email address"),
        ({"id": "dave", "email": "a b@x.org"}, "users[3].email: got the text 'a b@x.org'; expected an email"),
        ({"id": "dave", "slack_id": "dave"}, "users[3].slack_id: got the text 'dave'; expected a Slack user id"),
        ({"id": "dave", "slack_id": "U01ALICE"}, "users[3].slack_id: duplicate slack_id 'U01ALICE' (also at"),
        ({"id": "dave", "telegram_id": "@dave"}, "users[3].telegram_id: got the text '@dave'; expected a Telegram"),
        ({"id": "dave", "telegram_id": -5}, "users[3].telegram_id: got the number -5; expected a Telegram user id"),
        ({"id": "dave", "telegram_id": 111111}, "users[3].telegram_id: duplicate telegram_id '111111'"),
        ({"id": "dave", "name": ["D"]}, "users[3].name: got a list; expected the person's name as text"),
        ("dave", "users[3]: got the text 'dave'; expected a mapping with keys id, name"),
    ],
)
def test_user_problems(user: object, expected: str) -> None:
    data = example()
    data["users"].append(user)
    assert only_problem(data).startswith("tocsin.yml: " + expected)


def test_a_user_without_a_name_is_named_by_id_and_a_numeric_text_telegram_id_is_taken() -> None:
    data = example()
    data["users"].append({"id": "dave", "telegram_id": "222"})
    assert parse_config(data).user("dave") == User("dave", "dave", telegram_id=222)


# --- schedules --------------------------------------------------------------------------------------------------


def spoil_layer(**changes: object) -> dict[str, Any]:
    data = example()
    layer = data["schedules"][0]["layers"][0]
    for key, value in changes.items():
        if value is None:
            del layer[key]
        else:
            layer[key] = value
    return data


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"participants": []}, "layers[0].participants: empty; expected a list of one or more user ids"),
        ({"participants": None}, "layers[0].participants: missing; this key is required"),
        ({"participants": ["alice", "zed"]}, "layers[0].participants[1]: unknown user 'zed'; expected the id of one"),
        ({"participants": "alice"}, "layers[0].participants: got the text 'alice'; expected a list of user ids"),
        ({"rotation": "monthly"}, 'layers[0].rotation: unknown rotation \'monthly\'; expected "daily", "weekly"'),
        ({"rotation": "0h"}, "layers[0].rotation: unknown rotation '0h'"),
        ({"rotation": None}, "layers[0].rotation: missing; this key is required"),
        ({"handoff": "09:00"}, "layers[0].handoff: bad weekly handoff '09:00'; expected a weekday and a time"),
        ({"handoff": "Mon 9"}, "layers[0].handoff: bad weekly handoff 'Mon 9'"),
        ({"handoff": "Someday 09:00"}, "layers[0].handoff: bad weekly handoff"),
        ({"handoff": "Mon 24:00"}, "layers[0].handoff: bad weekly handoff"),
        ({"rotation": "daily", "handoff": "Mon 09:00"}, "layers[0].handoff: bad daily handoff 'Mon 09:00'; expected"),
        ({"rotation": "12h", "handoff": "9.30"}, "layers[0].handoff: bad hourly handoff '9.30'; expected"),
        ({"rotation": "daily", "handoff": 570}, 'layers[0].handoff: got the number 570; expected "HH:MM" in quotes'),
        ({"handoff": True}, 'layers[0].handoff: got the boolean true; expected "Mon 09:00"'),
        ({"start": "2026-13-01"}, "layers[0].start: got the text '2026-13-01'; expected a date such as 2026-01-05"),
        ({"start": datetime(2026, 1, 5, 9, 0)}, "layers[0].start: got a datetime"),
        ({"start": None}, "layers[0].start: missing; this key is required"),
        ({"length": 3}, "layers[0].length: unknown key; expected one of participants, rotation, handoff, start"),
    ],
)
def test_layer_problems(changes: dict[str, object], expected: str) -> None:
    assert only_problem(spoil_layer(**changes)).startswith("tocsin.yml: schedules[0]." + expected)


def test_yaml_reads_an_unquoted_handoff_as_a_number_and_says_so() -> None:
    text = CONTRACT_EXAMPLE.replace("rotation: weekly ", "rotation: daily ").replace('"Mon 09:00"', "9:30")
    line = only_problem(yaml.safe_load(text))
    assert "schedules[0].layers[0].handoff: got the number 570" in line
    assert "YAML reads an unquoted 9:30 as a number" in line


@pytest.mark.parametrize(
    ("rotation", "handoff", "expected"),
    [
        ("daily", "07:30", Rotation("daily", handoff_time=time(7, 30))),
        ("daily", None, Rotation("daily", handoff_time=time(9, 0))),
        ("weekly", "sunday 23:59", Rotation("weekly", handoff_time=time(23, 59), handoff_weekday=6)),
        ("weekly", "FRI 00:00", Rotation("weekly", handoff_time=time(0, 0), handoff_weekday=4)),
        ("weekly", None, Rotation("weekly", handoff_time=time(9, 0), handoff_weekday=0)),
        ("12h", "08:00", Rotation("hourly", hours=12, handoff_time=time(8, 0))),
        ("1h", "0:05", Rotation("hourly", hours=1, handoff_time=time(0, 5))),
        ("36h", "20:00", Rotation("hourly", hours=36, handoff_time=time(20, 0))),
    ],
)
def test_rotations_and_handoffs(rotation: str, handoff: str | None, expected: Rotation) -> None:
    config = parse_config(spoil_layer(rotation=rotation, handoff=handoff))
    assert config.schedules[0].layers[0].rotation == expected


def test_start_may_be_quoted_and_layers_keep_their_order() -> None:
    data = spoil_layer(start="2026-02-02")
    data["schedules"][0]["layers"].append({"participants": ["carol"], "rotation": "daily", "start": date(2026, 3, 1)})
    layers = parse_config(data).schedules[0].layers
    assert [layer.start for layer in layers] == [date(2026, 2, 2), date(2026, 3, 1)]
    assert layers[1].participants == ("carol",)


def spoil_schedule(**changes: object) -> dict[str, Any]:
    data = example()
    schedule = data["schedules"][0]
    for key, value in changes.items():
        if value is None:
            del schedule[key]
        else:
            schedule[key] = value
    return data


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"timezone": "Europe/Berlinn"}, "timezone: unknown time zone 'Europe/Berlinn'; expected an IANA time zone"),
        ({"timezone": "europe/berlin"}, "timezone: unknown time zone 'europe/berlin'"),
        ({"timezone": "Europe"}, "timezone: unknown time zone 'Europe'"),
        ({"timezone": "../../etc/passwd"}, "timezone: unknown time zone"),
        ({"timezone": "+01:00"}, "timezone: unknown time zone"),
        ({"timezone": 1}, "timezone: got the number 1; expected an IANA time zone"),
        ({"timezone": None}, "timezone: missing; this key is required"),
        ({"layers": []}, "layers: empty; expected a list of one or more layers"),
        ({"layers": None}, "layers: missing; this key is required"),
        ({"id": "primary schedule"}, "id: got the text 'primary schedule'; expected letters"),
        ({"name": "Primary"}, "name: unknown key; expected one of id, timezone, layers, overrides, announce"),
        ({"announce": {"slack_channel": "#ops"}}, "announce.slack_channel: got the text '#ops'; expected a Slack"),
        ({"announce": {"telegram_chat": "ops"}}, "announce.telegram_chat: got the text 'ops'; expected a Telegram"),
        ({"announce": {"email": "a@b.c"}}, "announce.email: unknown key; expected one of slack_channel, telegram"),
        ({"announce": "C0OPS"}, "announce: got the text 'C0OPS'; expected a mapping"),
        ({"overrides": {"user": "carol"}}, "overrides: got a mapping; expected a list of overrides"),
    ],
)
def test_schedule_problems(changes: dict[str, object], expected: str) -> None:
    # (a schedule whose id is wrong also makes the policy's reference to "primary" unknown)
    assert problems(spoil_schedule(**changes))[0].startswith("tocsin.yml: schedules[0]." + expected)


def test_a_duplicate_schedule_id_is_reported_at_the_second() -> None:
    data = example()
    data["schedules"].append(copy.deepcopy(data["schedules"][0]))
    assert only_problem(data) == (
        "tocsin.yml: schedules[1].id: duplicate id 'primary' (also at schedules[0].id); expected each id once"
    )


def override(**fields: object) -> dict[str, Any]:
    base: dict[str, object] = {"user": "carol", "from": "2026-12-24T18:00:00+01:00", "until": "2026-12-27T09:00:00Z"}
    base.update(fields)
    return spoil_schedule(overrides=[{k: v for k, v in base.items() if v is not None}])


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"until": "2026-12-24T17:00:00Z"}, "until: 2026-12-24T17:00:00+00:00 is not after from (2026-12-24T18:00"),
        ({"until": "2026-12-24T18:00:00+01:00"}, "until: 2026-12-24T18:00:00+01:00 is not after from"),
        ({"from": "2026-12-24T18:00:00"}, "from: got the text '2026-12-24T18:00:00'; expected an RFC 3339 time"),
        ({"from": date(2026, 12, 24)}, "from: got a date (2026-12-24); expected an RFC 3339 time with its offset"),
        ({"from": "Christmas"}, "from: got the text 'Christmas'; expected an RFC 3339 time"),
        ({"user": "zed"}, "user: unknown user 'zed'; expected the id of one of users"),
        ({"user": None}, "user: missing; this key is required"),
        ({"until": None}, "until: missing; this key is required"),
        ({"who": "carol"}, "who: unknown key; expected one of user, from, until"),
    ],
)
def test_override_problems(fields: dict[str, object], expected: str) -> None:
    assert only_problem(override(**fields)).startswith("tocsin.yml: schedules[0].overrides[0]." + expected)


def test_overrides_accept_yaml_timestamps_and_z() -> None:
    data = override(**{"from": datetime(2026, 12, 24, 17, 0, tzinfo=UTC)})
    (item,) = parse_config(data).schedules[0].overrides
    assert item.start == datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    assert item.end == datetime(2026, 12, 27, 9, 0, tzinfo=UTC)


# --- escalation policies ----------------------------------------------------------------------------------------


def with_steps(*steps: object, repeat: object = 0) -> dict[str, Any]:
    data = example()
    data["escalation_policies"][0]["steps"] = list(steps)
    data["escalation_policies"][0]["repeat"] = repeat
    return data


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"after": "0m", "notify": ["user:dave"]}, "notify[0]: unknown user 'dave'; expected the id of one of users"),
        ({"after": "0m", "notify": ["schedule:night"]}, "notify[0]: unknown schedule 'night'; expected the id of one"),
        ({"after": "0m", "notify": ["team:ops"]}, "notify[0]: got the text 'team:ops'; expected \"user:ID\""),
        ({"after": "0m", "notify": ["alice"]}, "notify[0]: got the text 'alice'; expected \"user:ID\""),
        ({"after": "0m", "notify": [3]}, 'notify[0]: got the number 3; expected "user:ID"'),
        ({"after": "0m", "notify": ["slack_channel:ops"]}, "notify[0]: got 'ops'; expected a Slack channel id"),
        ({"after": "0m", "notify": ["telegram_chat:x"]}, "notify[0]: got 'x'; expected a Telegram chat id"),
        ({"after": "0m", "notify": []}, "notify: empty; expected a list of one or more targets"),
        ({"after": "0m", "notify": "user:alice"}, "notify: got the text 'user:alice'; expected a list of targets"),
        ({"after": "15", "notify": ["user:alice"]}, "after: got the text '15'; expected a duration such as 30s"),
        ({"after": "1 h", "notify": ["user:alice"]}, "after: got the text '1 h'; expected a duration"),
        ({"after": "-5m", "notify": ["user:alice"]}, "after: got the text '-5m'; expected a duration"),
        ({"after": 15, "notify": ["user:alice"]}, "after: got the number 15; expected a duration"),
        ({"notify": ["user:alice"]}, "after: missing; this key is required"),
        ({"after": "0m", "notify": ["user:alice"], "wait": "1m"}, "wait: unknown key; expected one of after, notify"),
    ],
)
def test_step_problems(step: dict[str, object], expected: str) -> None:
    assert only_problem(with_steps(step)).startswith("tocsin.yml: escalation_policies[0].steps[0]." + expected)


def test_targets_of_every_kind_and_a_telegram_forum_topic() -> None:
    step = {"after": 0, "notify": ["user:bob", "schedule:primary", "slack_channel:C0X1", "telegram_chat:-1001:42"]}
    policy = parse_config(with_steps(step)).policies[0]
    assert policy.steps[0].after == timedelta(0)
    assert [str(t) for t in policy.steps[0].notify] == [
        "user:bob",
        "schedule:primary",
        "slack_channel:C0X1",
        "telegram_chat:-1001:42",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (with_steps(), "escalation_policies[0].steps: empty; expected a list of one or more steps"),
        (with_steps({"after": "0m", "notify": ["user:bob"]}, repeat=-1), "repeat: got the number -1; expected a whole"),
        (with_steps({"after": "0m", "notify": ["user:bob"]}, repeat="1"), "repeat: got the text '1'; expected a whole"),
        (
            with_steps({"after": "10m", "notify": ["user:bob"]}, {"after": "5m", "notify": ["user:bob"]}),
            "escalation_policies[0].steps[1].after: earlier than the step before it; expected steps in order",
        ),
    ],
)
def test_policy_problems(data: dict[str, Any], expected: str) -> None:
    assert expected in only_problem(data)


def test_a_duplicate_policy_and_a_policy_of_an_unknown_schedule_are_both_reported() -> None:
    data = example()
    data["escalation_policies"].append({"id": "default", "steps": [{"after": "1m", "notify": ["schedule:nope"]}]})
    assert problems(data) == [
        "tocsin.yml: escalation_policies[1].id: duplicate id 'default' (also at escalation_policies[0].id); "
        "expected each id once",
        "tocsin.yml: escalation_policies[1].steps[0].notify[0]: unknown schedule 'nope'; "
        "expected the id of one of schedules",
    ]


# --- routes -----------------------------------------------------------------------------------------------------


def with_routes(*routes: object) -> dict[str, Any]:
    data = example()
    data["routes"] = list(routes)
    return data


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ({"match": ['severity=="x"']}, "routes[0].match[0]: 'severity==\"x\"' has no operator '=='; expected"),
        ({"match": ["a=b", "1a=b"]}, "routes[0].match[1]: '1a' is not a valid label name; expected letters"),
        ({"match": ['team=~"("']}, "routes[0].match[0]: invalid regex '(' (missing ), unterminated subpattern"),
        ({"match": [{"severity": "critical"}]}, 'routes[0].match[0]: got a mapping; expected name="value"'),
        ({"match": 'severity="critical"'}, "routes[0].match: got the text 'severity=\"critical\"'; expected a list"),
        ({"escalation": "nope"}, "routes[0].escalation: unknown escalation policy 'nope'; expected the id of one"),
        ({"slack_channel": "#ops"}, "routes[0].slack_channel: got the text '#ops'; expected a Slack channel id"),
        ({"telegram_chat": "-1001:x"}, "routes[0].telegram_chat: got the text '-1001:x'; expected a Telegram chat"),
        ({"telegram_chat": ["-1001", "x"]}, "routes[0].telegram_chat[1]: got the text 'x'; expected a Telegram"),
        ({"telegram_chat": True}, "routes[0].telegram_chat: got the boolean true; expected a list of Telegram chat"),
        ({"email": ["ops@example.com", "ops"]}, "routes[0].email[1]: got the text 'ops'; expected an email address"),
        ({"email": {"to": "a@b.c"}}, "routes[0].email: got a mapping; expected a list of email addresses"),
        ({"group_by": ["alertname", "the-cluster"]}, "routes[0].group_by[1]: got the text 'the-cluster'; expected a"),
        ({"group_by": ["a", "a"]}, "routes[0].group_by[1]: label 'a' is listed twice; expected each label once"),
        ({"group_by": ["...", "a"]}, "routes[0].group_by: '...' (all labels) is not alone; expected"),
        ({"group_by": "alertname"}, "routes[0].group_by: got the text 'alertname'; expected a list of label names"),
        ({"auto_resolve": "yes please"}, "routes[0].auto_resolve: got the text 'yes please'; expected true or false"),
        ({"reopen_within": "5 minutes"}, "routes[0].reopen_within: got the text '5 minutes'; expected a duration"),
        ({"reopen_within": "5M"}, "routes[0].reopen_within: got the text '5M'; expected a duration"),
        ({"id": "a", "name": "b"}, "routes[0].name: both id and name are given; expected one of them"),
        ({"id": "default"}, "routes[0].id: 'default' is the default route's id; expected another id"),
        ({"id": ""}, "routes[0].id: got the text ''; expected a route id as text"),
        ({"channel": "C0OPS"}, "routes[0].channel: unknown key; expected one of id, name, match, escalation"),
        ("catch-all", "routes[0]: got the text 'catch-all'; expected a mapping with keys id, name, match"),
    ],
)
def test_route_problems(route: object, expected: str) -> None:
    assert only_problem(with_routes(route)).startswith("tocsin.yml: " + expected)


def test_route_ids_come_from_id_name_or_position_and_must_be_unique() -> None:
    config = parse_config(with_routes({"id": "pages"}, {"name": "Database team"}, {}))
    assert [r.id for r in config.routes.routes] == ["pages", "Database team", "routes[2]"]
    assert only_problem(with_routes({"id": "x"}, {"name": "x"})) == (
        "tocsin.yml: routes[1].name: duplicate id 'x' (also at routes[0].id); expected each id once"
    )


def test_route_defaults_and_alternatives() -> None:
    config = parse_config(
        with_routes(
            {},
            {"match": [], "group_by": [], "reopen_within": 0, "auto_resolve": False},
            {"match": None, "group_by": ["..."], "telegram_chat": -1001, "email": "ops@example.com"},
            {"match": ['{team="db", env=~"prod|staging"}'], "telegram_chat": ["-1001", "-1002:7"], "group_by": None},
        )
    )
    first, second, third, fourth = config.routes.routes
    assert first == Route(id="routes[0]")
    assert first.group_by is None and first.reopen_within == DEFAULT_REOPEN_WITHIN and first.auto_resolve
    assert second.matchers == () and second.group_by == () and second.reopen_within == timedelta(0)
    assert not second.auto_resolve
    assert third.matchers == () and third.group_by == ("...",)
    assert third.telegram_chats == ("-1001",) and third.email == ("ops@example.com",)
    assert fourth.matchers == (Matcher("team", "=", "db"), Matcher("env", "=~", "prod|staging"))
    assert fourth.telegram_chats == ("-1001", "-1002:7") and fourth.group_by is None


def test_the_first_matching_route_wins_else_the_default() -> None:
    default = Route(id="default", email=("fallback@example.com",))
    config = parse_config(
        with_routes(
            {"id": "db", "match": ['team="db"', 'severity=~"critical|error"']},
            {"id": "critical", "match": ['severity="critical"']},
            {"id": "no-team", "match": ['team=""']},
        ),
        default,
    )
    table = config.routes
    assert table.route_for({"team": "db", "severity": "critical"}).id == "db"
    assert table.route_for({"team": "web", "severity": "critical"}).id == "critical"
    assert table.route_for({"team": "db", "severity": "warning"}).id == "default"
    assert table.route_for({"severity": "info"}).id == "no-team"
    assert table.by_id("critical").id == "critical" and table.by_id("gone") == default


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("1w", 604800), ("0", 0), ("0m", 0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration("250ms") == timedelta(milliseconds=250)


@pytest.mark.parametrize("text", ["", "m", "15", "1.5h", "1m1h", "1 h", "-1m", "1hour"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = (
        CONTRACT_EXAMPLE.replace("Europe/Berlin", "Mars/Olympus")
        .replace("[alice, bob]", "[alice, zed]")
        .replace("user:carol", "user:dave")
        .replace("escalation: default", "escalation: nope")
        .replace("reopen_within: 5m", "reopen_within: soon")
        .replace('severity="critical"', "severity=~(")
    )
    lines = problems(yaml.safe_load(text))
    assert [line.split(": ")[1] for line in lines] == [
        "schedules[0].timezone",
        "schedules[0].layers[0].participants[1]",
        "escalation_policies[0].steps[1].notify[0]",
        "routes[0].match[0]",
        "routes[0].escalation",
        "routes[0].reopen_within",
    ]
    assert all(line.startswith("tocsin.yml: ") and "expected" in line for line in lines)


def test_references_to_entries_with_their_own_problems_are_not_reported_twice() -> None:
    data = example()
    data["users"][2]["email"] = "not-an-email"  # carol has a problem, but she exists
    assert only_problem(data).startswith("tocsin.yml: users[2].email:")


def test_discord_and_mattermost_keys_are_read_and_bad_ones_refused() -> None:
    config = parse_config({
        "users": [{"id": "alice", "discord_id": 80351110224678912, "mattermost_id": "@alice"}],
        "schedules": [{"id": "s", "timezone": "UTC", "layers": [{"participants": ["alice"], "rotation": "daily",
                                                               "start": "2026-01-05"}],
                       "announce": {"discord_channel": "1" * 18, "mattermost_channel": "m" * 26}}],
        "escalation_policies": [{"id": "p", "steps": [{"after": "0m", "notify": [f"discord_channel:{'2' * 18}"]}]}],
        "routes": [{"id": "r", "discord_channel": "3" * 18, "mattermost_channel": "c" * 26}],
    })
    assert config.users[0].discord_id == "80351110224678912" and config.users[0].mattermost_id == "@alice"
    assert config.schedules[0].announce.targets() == [("discord", "1" * 18), ("mattermost", "m" * 26)]
    assert config.routes.routes[0].discord_channel == "3" * 18
    found = problems({"users": [{"id": "a", "discord_id": "me", "mattermost_id": "No Spaces"}],
                      "routes": [{"id": "r", "discord_channel": "#ops", "mattermost_channel": "town-square"}]})
    assert any("users[0].discord_id" in p and "Discord user id" in p for p in found)
    assert any("users[0].mattermost_id" in p for p in found)
    assert any("routes[0].discord_channel" in p and "Discord channel id" in p for p in found)
    assert any("routes[0].mattermost_channel" in p and "Mattermost channel id" in p for p in found)
