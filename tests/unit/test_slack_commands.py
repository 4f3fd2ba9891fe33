"""Parsing the slash command's text, and what a person is told when an action fails."""

from __future__ import annotations

import pytest

from bot.slack.handlers import Command, CommandError, explain, parse_command, parse_duration
from store.domain.incident import InvalidTransition, Status
from store.errors import DatabaseUnavailable
from store.sql.incidents import NotFound


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Command("help")),
        ("help", Command("help")),
        ("frobnicate 42", Command("help")),
        ("LIST", Command("list")),
        ("oncall", Command("oncall")),
        ("ack 42", Command("ack", 42)),
        ("acknowledge #7", Command("ack", 7)),
        ("resolve 42", Command("resolve", 42)),
        ("resolve 42   rolled back the  deploy ", Command("resolve", 42, "rolled back the  deploy")),
        ("silence 42", Command("silence", 42, duration=3600.0)),
        ("silence 42 30m", Command("silence", 42, duration=1800.0)),
        ("silence #42 2d", Command("silence", 42, duration=172800.0)),
        ("new  Checkout is down for EU ", Command("new", text="Checkout is down for EU")),
    ],
)
def test_parse(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ack", "Which incident? Usage: `/incident ack ID`"),
        ("ack forty-two", "`forty-two` is not an incident number"),
        ("ack 42 now", "`ack` takes only an incident number"),
        ("resolve", "Usage: `/incident resolve ID [note]`"),
        ("silence 42 forever", "`forever` is not a duration from 1m to 30d"),
        ("silence 42 31d", "not a duration from 1m to 30d"),
        ("new", "A new incident needs a title"),
    ],
)
def test_parse_errors_say_how_to_type_it(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert fragment in str(caught.value)


def test_parse_duration_bounds() -> None:
    assert parse_duration("1m") == 60 and parse_duration("30d") == 30 * 86400
    with pytest.raises(CommandError):
        parse_duration("30s")


def test_explain_says_what_happened() -> None:
    refused = InvalidTransition(42, "acknowledge", Status.RESOLVED, "by alice 3 minutes ago")
    assert explain(refused, "acknowledge") == (
        ":warning: Cannot acknowledge incident #42: it is resolved (by alice 3 minutes ago)"
    )
    assert explain(NotFound("incident #9 does not exist"), "resolve") == ":warning: Incident #9 does not exist"
    assert "database is unavailable" in explain(DatabaseUnavailable(), "resolve")
    assert "database is unavailable" in explain(ConnectionRefusedError(), "resolve")
    assert explain(RuntimeError("secret detail"), "resolve") == (
        ":warning: Could not resolve: an unexpected error occurred (details are in Tocsin's log)."
    )
