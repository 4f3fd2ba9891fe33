"""Declared schemas and cursors, without a database: parsing, errors naming fields, OpenAPI output."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from werkzeug.datastructures import MultiDict

from store.domain.tokens import Role, actor_of, hash_token, new_token, role_allows
from store.errors import ApiError
from web.api import cursor
from web.api.schema import Body, Field, FieldError, Query, parse_since, parse_time

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
QUERY = Query(
    (
        Field("limit", "integer", minimum=1, maximum=500, default=50),
        Field("status", "string", enum=("firing", "resolved")),
        Field("label", "string", pattern=r"^[^=]+=", repeated=True),
        Field("since", "string", format="date-time"),
    )
)


def test_query_fills_defaults_and_converts() -> None:
    values = QUERY.parse(
        MultiDict([("limit", "20"), ("label", "a=1"), ("label", "b=2"), ("since", "2026-11-26T13:00:00+01:00")])
    )
    assert values == {"limit": 20, "status": None, "label": ["a=1", "b=2"], "since": NOW}
    assert QUERY.parse(MultiDict())["limit"] == 50


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ([("limit", "0")], "limit"),
        ([("limit", "1.5")], "limit"),
        ([("limit", "99999999999999999999999")], "limit"),
        ([("status", "open")], "status"),
        ([("label", "noequals")], "label"),
        ([("since", "2026-11-26T12:00:00")], "since"),
        ([("other", "x")], "other"),
        ([("status", "firing"), ("status", "resolved")], "status"),
        ([("status", "fir\x00ing")], "status"),
    ],
)
def test_query_errors_name_the_field(args: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(ApiError) as err:
        QUERY.parse(MultiDict(args))
    assert err.value.status == 422 and err.value.details[0]["field"] == field


def test_body_refuses_unknown_properties_wrong_types_and_lone_surrogates() -> None:
    body = Body("B", (Field("title", "string", required=True, max_length=5), Field("n", "integer")))
    assert body.parse({"title": "abc"}) == {"title": "abc", "n": None}
    for data, field in (
        ({}, "title"),
        ({"title": "abcdef"}, "title"),
        ({"title": "a", "x": 1}, "x"),
        ({"title": "a", "n": True}, "n"),
        ({"title": "\ud800"}, "title"),
        ("str", "body"),
    ):
        with pytest.raises(ApiError) as err:
            body.parse(data)
        assert field in [d["field"] for d in err.value.details]
    schema = body.json_schema()
    assert schema["additionalProperties"] is False and schema["required"] == ["title"]


def test_since_accepts_durations_and_times() -> None:
    assert parse_since("7d", NOW) == datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    assert parse_since("90m", NOW) == datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
    assert parse_since("2026-11-01T00:00:00Z", NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    for bad in ("7 days", "-1d", "", "2026-13-01T00:00:00Z"):
        with pytest.raises(FieldError):
            parse_since(bad, NOW)
    with pytest.raises(FieldError):
        parse_time("2026-11-01")


def test_cursor_round_trip_and_refusals() -> None:
    key = (3, NOW, 42)
    token = cursor.encode("incidentsseverity", key)
    assert cursor.decode(token, "incidentsseverity", ("int", "time", "int")) == key
    assert cursor.encode("alerts", None) is None
    for bad, kind in ((token, "incidents-created_at"), ("%%%", "alerts"), (token + "x", "incidentsseverity")):
        with pytest.raises(ApiError) as err:
            cursor.decode(bad, kind, ("int", "time", "int"))
        assert err.value.details[0]["field"] == "cursor"


def test_tokens_are_random_hashed_and_ranked() -> None:
    first, second = new_token(), new_token()
    assert first != second and len(first) > 40
    assert hash_token(first) != first and len(hash_token(first)) == 64
    assert role_allows(Role.ADMIN, Role.RESPONDER) and not role_allows(Role.VIEWER, Role.RESPONDER)
    assert actor_of("ci", None) == "token:ci" and actor_of("ci", "alice") == "alice"
