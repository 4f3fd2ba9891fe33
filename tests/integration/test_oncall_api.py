"""GET /api/v1/oncall and the iCalendar feed, parsed back with the icalendar package."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import icalendar
from quart import Quart

from store.db import Database
from store.domain.config_schema import Config
from store.domain.schedule import Layer, Override, Rotation, Schedule
from store.errors import ApiError
from store.runtime import Runtime
from tests.support.escalation import Clock, make_config
from web.api import oncall

NOW = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)  # Thursday; all times below are UTC (Berlin is UTC+1)
# Layer 1: alice, bob weekly from Mon 09:00; layer 2: carol every other day (empty turns show layer 1);
# an override puts bob on call on Saturday 28 Nov 12:00-18:00 Berlin.
LAYERED = Schedule(
    id="layered",
    timezone="Europe/Berlin",
    layers=(
        Layer(("alice", "bob"), Rotation("weekly", handoff_time=time(9), handoff_weekday=0), date(2026, 11, 23)),
        Layer(("carol", ""), Rotation("daily", handoff_time=time(9)), date(2026, 11, 23)),
    ),
    overrides=(Override("bob", datetime(2026, 11, 28, 11, tzinfo=UTC), datetime(2026, 11, 28, 17, tzinfo=UTC)),),
)


def utc(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def make_app(db: Database, config: Config, clock: Clock, auth=None) -> Quart:
    app = Quart("test")

    @app.errorhandler(ApiError)
    async def api_error(error: ApiError):
        return error.body(), error.status

    app.register_blueprint(oncall.create_blueprint(auth))
    app.extensions["tocsin"] = Runtime(db=db, config=config, clock=clock)
    return app


def config_with_layers() -> Config:
    config = make_config()
    return replace(config, schedules=(*config.schedules, LAYERED))


async def feed(app: Quart, schedule_id: str) -> icalendar.Calendar:
    response = await app.test_client().get(f"/api/v1/schedules/{schedule_id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(await response.get_data())


def events_of(calendar: icalendar.Calendar) -> list[tuple[datetime, datetime, str, str]]:
    return [
        (e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"]), str(e["UID"]))
        for e in calendar.walk("VEVENT")
    ]


async def test_oncall_now(db: Database) -> None:
    app = make_app(db, config_with_layers(), Clock(NOW))
    response = await app.test_client().get("/api/v1/oncall")
    assert response.status_code == 200
    assert await response.get_json() == {
        "schedules": [
            {"id": "primary", "user": "bob", "since": "2026-11-26T08:00:00Z", "until": "2026-11-27T08:00:00Z"},
            {"id": "layered", "user": "alice", "since": "2026-11-26T08:00:00Z", "until": "2026-11-27T08:00:00Z"},
        ]
    }


async def test_feed_shows_layers_and_overrides(db: Database) -> None:
    calendar = await feed(make_app(db, config_with_layers(), Clock(NOW)), "layered")
    assert str(calendar["X-WR-CALNAME"]) == "On call: layered"
    events = events_of(calendar)
    shown = [(start, end, summary) for start, end, summary, _ in events if utc(27, 8) <= start < utc(1, 8, 12)]
    assert shown == [
        (utc(27, 8), utc(28, 8), "On call: Carol"),  # layer 2's turn
        (utc(28, 8), utc(28, 11), "On call: Alice Example"),  # layer 2 empty: layer 1 shows through
        (utc(28, 11), utc(28, 17), "On call: Bob Example"),  # the override
        (utc(28, 17), utc(29, 8), "On call: Alice Example"),
        (utc(29, 8), utc(30, 8), "On call: Carol"),
        (utc(30, 8), utc(1, 8, 12), "On call: Bob Example"),  # layer 1 hands over to bob on Monday
    ]
    starts_ends = [(start, end) for start, end, _, _ in events]
    assert all(a[1] == b[0] for a, b in zip(starts_ends, starts_ends[1:], strict=False))  # no gap, no overlap
    assert starts_ends[0][0] <= NOW - timedelta(weeks=2) and starts_ends[-1][1] >= NOW + timedelta(weeks=8)
    assert all(start.tzinfo is not None and start.utcoffset() == timedelta(0) for start, _ in starts_ends)
    assert len({uid for *_, uid in events}) == len(events)


async def test_feed_uids_stay_the_same_as_time_passes(db: Database) -> None:
    config = config_with_layers()
    today = {(s, e, uid) for s, e, _, uid in events_of(await feed(make_app(db, config, Clock(NOW)), "layered"))}
    later = Clock(NOW + timedelta(days=3, hours=5))
    tomorrow = {(s, e, uid) for s, e, _, uid in events_of(await feed(make_app(db, config, later), "layered"))}
    common = today & tomorrow
    assert len(common) > 0.8 * len(today)
    uids_today = {uid: (s, e) for s, e, uid in today}
    assert all(uids_today.get(uid, (s, e)) == (s, e) for s, e, uid in tomorrow)  # a UID never changes meaning


async def test_unknown_schedule_is_a_json_404(db: Database) -> None:
    response = await make_app(db, make_config(), Clock(NOW)).test_client().get("/api/v1/schedules/nope.ics")
    assert response.status_code == 404
    body = await response.get_json()
    assert body["error"]["code"] == "not_found"
    assert "nope" in body["error"]["message"] and "primary" in body["error"]["message"]


async def test_auth_hook_wraps_every_route(db: Database) -> None:
    def deny(view):
        async def guarded(*args, **kwargs):
            raise ApiError(401, "unauthorized", "no token")

        return guarded

    client = make_app(db, make_config(), Clock(NOW), auth=deny).test_client()
    assert (await client.get("/api/v1/oncall")).status_code == 401
    assert (await client.get("/api/v1/schedules/primary.ics")).status_code == 401
