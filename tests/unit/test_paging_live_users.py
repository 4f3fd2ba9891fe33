"""The paging channels and answers read the config's people as they are now: a version applied while serving
(tocsin config apply, SIGHUP) pages and recognizes the new contacts at once, without a restart."""

from __future__ import annotations

from types import SimpleNamespace

from bot.paging.common import Paging
from bot.paging.settings import PagingSettings
from store.domain.config_schema import parse_config

BEFORE = parse_config({"users": [{"id": "alice", "name": "Alice", "phone": "+14155550101"}]})
AFTER = parse_config({"users": [{"id": "alice", "name": "Alice", "phone": "+14155550199"}]})


def test_a_config_version_applied_while_serving_counts_at_once() -> None:
    runtime = SimpleNamespace(config=BEFORE)
    paging = Paging(PagingSettings(), lambda: runtime, BEFORE.users)  # type: ignore[arg-type, return-value]
    assert paging.user_for("sms", "+14155550101").id == "alice"  # type: ignore[union-attr]
    runtime.config = AFTER  # what store/live_config.py does when a replica takes a new version
    assert paging.user_for("sms", "+14155550101") is None
    assert paging.user_for("voice", "+14155550199").id == "alice"  # type: ignore[union-attr]


def test_while_starting_the_people_of_the_start_up_config_are_used() -> None:
    paging = Paging(PagingSettings(), lambda: None, BEFORE.users)
    assert paging.user_for("sms", "+14155550101").id == "alice"  # type: ignore[union-attr]
