"""An incident as a Mattermost post: buttons carrying the secret, Mattermost's limits, no mentions (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.mattermost import render
from store.domain.incident import Status
from tests.support.incident_values import T0, make_incident
from tests.support.mattermost_api import invalid_post

PUBLIC = "https://tocsin.example.com"
URL = f"{PUBLIC}/mattermost/actions"


def post_of(incident: object, silence: bool = True) -> dict:
    return {"channel_id": "c" * 26, **render.incident_post(incident, [], PUBLIC, silence, URL, "s3cret")}  # type: ignore[arg-type]


def test_buttons_follow_the_state_and_carry_the_secret_in_their_context() -> None:
    actions = post_of(make_incident())["props"]["attachments"][0]["actions"]
    assert [(a["id"], a["name"]) for a in actions] == [("ack42", "Acknowledge"), ("resolve42", "Resolve"),
                                                       ("silence42", "Silence 1h")]
    context = {"action": "ack", "incident_id": 42, "secret": "s3cret"}
    assert actions[0]["integration"] == {"url": URL, "context": context}
    acked = make_incident(status=Status.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=T0)
    assert [a["name"] for a in post_of(acked, silence=False)["props"]["attachments"][0]["actions"]] == ["Resolve"]
    resolved = make_incident(status=Status.RESOLVED, resolved_by="bob", resolved_at=T0)
    assert post_of(resolved)["props"]["attachments"][0]["actions"] == []


def test_alert_text_cannot_mention_or_format() -> None:
    post = post_of(make_incident(title="@channel **now**", summary="@all [x](http://evil)"))
    assert "@\u2060channel" in post["message"] and "\\*\\*now\\*\\*" in post["message"]
    assert post["props"]["attachments"][0]["text"] == "@\u2060all \\[x\\]\\(http://evil\\)"


@given(title=st.text(max_size=20_000), summary=st.text(max_size=20_000))
def test_any_incident_fits_mattermosts_limits(title: str, summary: str) -> None:
    assert invalid_post(post_of(make_incident(title=title, summary=summary))) is None
