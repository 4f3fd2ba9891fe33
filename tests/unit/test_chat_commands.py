"""The chat core's parsing (commands, incident numbers, durations) and its words for every failure."""

from __future__ import annotations

import pytest

from bot.actions import Refused, explain, parse_incident_id, parse_silence
from bot.commands import Command, CommandError, parse_command
from store.errors import Conflict, NotFound, Unavailable


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
        ("silence 42", Command("silence", 42)),
        ("silence 42 30m", Command("silence", 42, duration="30m")),
        ("silence #42 2d", Command("silence", 42, duration="2d")),
        ("note 42 rolled back", Command("note", 42, "rolled back")),
        ("new  Checkout is down for EU ", Command("new", text="Checkout is down for EU")),
        ("unack #42", Command("unack", 42)),
        ("unacknowledge 42", Command("unack", 42)),
        ("reassign 42 <@U01BOB>", Command("reassign", 42, "<@U01BOB>")),
        ("escalate 42", Command("escalate", 42)),
        ("snooze 42", Command("snooze", 42)),
        ("snooze 42 2h", Command("snooze", 42, duration="2h")),
        ('maintenance 2h service="db"', Command("maintenance", duration="2h", matchers=('service="db"',))),
        ('maintenance 30m service="db prod", env=~"eu,us"  team!="x"',
         Command("maintenance", duration="30m", matchers=('service="db prod"', 'env=~"eu,us"', 'team!="x"'))),
        ('maintenance 1d {a="1",b!="2"}', Command("maintenance", duration="1d", matchers=('a="1"', 'b!="2"'))),
        ("maintenance", Command("maintenance-list")),
        ("maintenance list", Command("maintenance-list")),
        ("maintenance end mw-3", Command("maintenance-end", text="mw-3")),
        ("heartbeats", Command("heartbeats")),
        ("heartbeat mute watchdog", Command("heartbeat-mute", text="watchdog", duration="1h")),
        ("heartbeats mute watchdog 2d", Command("heartbeat-mute", text="watchdog", duration="2d")),
        ("heartbeats unmute watchdog", Command("heartbeat-unmute", text="watchdog")),
    ],
)
def test_parse(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ack", "Which incident? Usage: `/incident ack ID`"),
        ("ack forty-two", "`forty-two` is not an incident number"),
        ("ack ¹", "`¹` is not an incident number"),
        ("ack 42 now", "`ack` takes only an incident number"),
        ("resolve", "Usage: `/incident resolve ID [note]`"),
        ("silence 42 forever", "`forever` is not a duration from 1m to 30d"),
        ("silence 42 31d", "not a duration from 1m to 30d"),
        ("note 42", "A note needs its text"),
        ("new", "A new incident needs a title"),
        ("unack 42 please", "`unack` takes only an incident number"),
        ("escalate", "Which incident? Usage: `/incident escalate ID`"),
        ("reassign 42", "Reassign to whom? Name one user of Tocsin's config. Usage: `/incident reassign ID USER`"),
        ("reassign 42 bob carol", "Reassign to whom?"),
        ("snooze 42 soon", "`soon` is not a duration from 1m to 30d"),
        ("maintenance 2h", "Which alerts? Give one or more matchers after the duration. Usage: "
                           '`/incident maintenance 2h service="db"`'),
        ("maintenance end", "Which window?"),
        ("heartbeats dance", "Usage: `/incident heartbeats`, `/incident heartbeats mute ID [duration]`"),
        ("heartbeats mute", "Usage: `/incident heartbeats`"),
        ("heartbeats mute watchdog forever", "`forever` is not a duration"),
    ],
)
def test_parse_errors_say_how_to_type_it(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert fragment in str(caught.value)


def test_usage_without_a_chat_command_names_the_subcommand_as_a_command() -> None:
    with pytest.raises(CommandError, match=r"Usage: `/snooze ID \[duration\]`"):
        parse_command("snooze x", "")


@pytest.mark.parametrize("word", ["0", "-1", "٣", "1e3", "9" * 19, "", "#", "4 2"])
def test_incident_numbers_are_ascii_digits_within_bigint(word: str) -> None:
    with pytest.raises(Refused, match="is not an incident number"):
        parse_incident_id(word)
    assert parse_incident_id("#42") == 42 and parse_incident_id(7) == 7


def test_silence_lengths_default_to_an_hour_within_bounds() -> None:
    assert parse_silence(None) == 3600 and parse_silence("1m") == 60 and parse_silence("30d") == 30 * 86400
    with pytest.raises(Refused, match="from 1m to 30d"):
        parse_silence("30s")


def test_explain_says_what_happened_once_for_every_chat() -> None:
    assert explain(Conflict("cannot acknowledge #42: #42 was already resolved by bob"), "acknowledge") == (
        "Cannot acknowledge #42: #42 was already resolved by bob."
    )
    assert explain(NotFound.incident(9), "resolve") == "Incident #9 does not exist."
    assert "database is unavailable" in explain(Unavailable.database(ConnectionRefusedError()), "resolve")
    assert explain(Unavailable("cannot reach Alertmanager", code="alertmanager_unavailable"), "silence") == (
        "Could not silence: cannot reach Alertmanager"
    )
    assert explain(RuntimeError("secret detail"), "resolve") == (
        "Could not resolve: an unexpected error occurred (details are in Tocsin's log)."
    )
