"""The dashboard's pure pieces: durations, safe links, the list query's checks, the statistics cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from store.errors import ApiError, NotFound
from store.sql.stats import Durations, Stats
from web.dashboard import data
from web.dashboard.data import ListQuery, parse_incident_id, parse_list_query
from web.dashboard.format import between, duration, safe_url, when


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (0, "0s"), (44.6, "45s"), (60, "1m 0s"), (725, "12m 5s"), (12_000, "3h 20m"), (187_200, "2d 4h"),
])
def test_durations_read_like_a_person_would_say_them(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_times_are_shown_in_utc() -> None:
    start = datetime(2026, 11, 26, 23, 8, 5, tzinfo=UTC)
    assert when(start) == "2026-11-26 23:08:05 UTC"
    assert when(None) == "—"
    assert between(start, start.replace(minute=18)) == "10m 0s"
    assert between(start, None) == "—"


@pytest.mark.parametrize("url", ["https://runbooks.example/x", "http://prometheus:9090/graph?g0.expr=up%3D%3D0",
                                 " https://padded.example/ "])
def test_http_urls_become_links(url: str) -> None:
    assert safe_url(url) == url.strip()


@pytest.mark.parametrize("value", ["javascript:alert(1)", "JavaScript:alert(1)", "java\tscript:alert(1)",
                                   "data:text/html,<script>alert(1)</script>", "//evil.example/x", "/relative",
                                   "https://", "", None, 42, "vbscript:msgbox(1)"])
def test_nothing_else_becomes_a_link(value: object) -> None:
    assert safe_url(value) is None


def test_the_list_query_treats_empty_values_as_any_and_keeps_only_changed_parameters() -> None:
    query = parse_list_query({"status": "", "severity": "critical", "team": " infra ", "q": "", "sort": ""})
    assert query == ListQuery(severity="critical", team="infra")
    assert query.params() == {"severity": "critical", "team": "infra"}
    assert query.params(period="30d", severity="") == {"team": "infra", "period": "30d"}
    assert query.filtered and not ListQuery().filtered


@pytest.mark.parametrize(("args", "field"), [
    ({"status": "open"}, "status"), ({"severity": "fatal"}, "severity"), ({"sort": "title"}, "sort"),
    ({"period": "1y"}, "period"), ({"q": "x" * 201}, "q"), ({"team": "t" * 201}, "team"),
    ({"cursor": "not-a-cursor"}, "cursor"),
])
def test_a_bad_parameter_is_refused_naming_it(args: dict[str, str], field: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_list_query(args)
    assert raised.value.status == 422
    assert raised.value.details[0]["field"] == field


@pytest.mark.parametrize("text", ["abc", "-1", "1.5", "١٢", "9" * 19, ""])
def test_an_incident_id_is_a_plain_number(text: str) -> None:
    with pytest.raises(NotFound):
        parse_incident_id(text)
    assert parse_incident_id("42") == 42


async def test_statistics_are_reused_until_they_expire_or_something_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    computed: list[str] = []

    async def window_stats(_conn: object, since: datetime, until: datetime) -> Stats:
        computed.append("stats")
        await asyncio.sleep(0)
        return Stats({}, {}, Durations(None, None, None), Durations(None, None, None), [])

    async def daily_durations(_conn: object, since: datetime, until: datetime) -> list[object]:
        return []

    monkeypatch.setattr(data.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(data.stats_sql, "window_stats", window_stats)
    monkeypatch.setattr(data.stats_sql, "daily_durations", daily_durations)
    cache = data.WindowCache()
    now = datetime(2026, 11, 26, tzinfo=UTC)
    await asyncio.gather(*(cache.get(None, "7d", now) for _ in range(5)))
    assert len(computed) == 1  # five pages at once: one computation
    clock[0] += data.CACHE_SECONDS["7d"] - 0.1
    await cache.get(None, "7d", now)
    assert len(computed) == 1  # still fresh
    cache.changed()
    await cache.get(None, "7d", now)
    assert len(computed) == 2  # a change: computed again
    await cache.get(None, "90d", now)
    clock[0] += data.CACHE_SECONDS["7d"] + 0.1
    await cache.get(None, "7d", now)
    await cache.get(None, "90d", now)
    assert len(computed) == 4  # 7d expired, 90d (kept a minute) still fresh
