"""An incident as a Discord message: buttons per state, Discord's limits, escaping, no mentions (pure)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.actions import Reply
from bot.discord import render
from store.domain.incident import Status
from tests.support.discord_api import invalid_message
from tests.support.incident_values import T0, make_event, make_incident

PUBLIC = "https://tocsin.example.com"


def custom_ids(message: dict) -> list[str]:
    return [b["custom_id"] for row in message["components"] for b in row["components"]]


def test_buttons_follow_the_state_and_silence_needs_alertmanager() -> None:
    triggered = render.incident_message(make_incident(), [], PUBLIC, silence_enabled=True)
    assert custom_ids(triggered) == ["ack_incident:42", "resolve_incident:42", "silence_incident:42"]
    assert [b["label"] for b in triggered["components"][0]["components"]] == ["Acknowledge", "Resolve", "Silence 1h"]
    acked = make_incident(status=Status.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=T0)
    assert custom_ids(render.incident_message(acked, [], PUBLIC, silence_enabled=False)) == ["resolve_incident:42"]
    resolved = make_incident(status=Status.RESOLVED, resolved_by="bob", resolved_at=T0)
    assert render.incident_message(resolved, [], PUBLIC, silence_enabled=True)["components"] == []


def test_the_embed_says_who_did_what_through_which_channel_with_the_shared_link_names() -> None:
    acked = make_incident(status=Status.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=T0)
    event = make_event("acknowledged", actor="alice", source="telegram")
    embed = render.incident_embed(acked, [event], PUBLIC, {"alice": "Alice Example"})
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Status"] == "👀 Acknowledged by Alice Example"
    assert "Acknowledged by Alice Example via Telegram" in fields["Timeline"]
    assert fields["Links"].startswith(f"[Dashboard]({PUBLIC}/incidents/42) · [Source graph](")
    assert embed["url"] == f"{PUBLIC}/incidents/42" and embed["title"] == "#42 High error rate on checkout"


def test_alert_text_cannot_format_or_mention() -> None:
    incident = make_incident(title="@everyone **now**", summary="<@123> [x](http://evil)", labels={"a": "`b`"})
    message = render.incident_message(incident, [], PUBLIC, silence_enabled=False)
    assert message["allowed_mentions"] == {"parse": []}
    text = json.dumps(message)
    assert "\\\\*\\\\*now\\\\*\\\\*" in text and "\\\\[x\\\\]\\\\(http" in text and "\\\\<@123\\\\>" in text


@given(title=st.text(max_size=600), summary=st.text(max_size=9000),
       labels=st.dictionaries(st.text(max_size=300), st.text(max_size=2000), max_size=40))
def test_any_incident_fits_discords_limits(title: str, summary: str, labels: dict[str, str]) -> None:
    incident = make_incident(title=title, summary=summary, labels=labels)
    events = [make_event("note", actor="a" * 300, source="slack", message="m" * 3000)] * 6
    assert invalid_message(render.incident_message(incident, events, PUBLIC, silence_enabled=True)) is None


def test_replies_link_the_incident_and_warn_on_failure() -> None:
    done = Reply("Acknowledged #42 High error rate on checkout", incident=make_incident(), verb="Acknowledged")
    assert render.reply_text(done, PUBLIC) == (
        f"🚨 Acknowledged [#42 High error rate on checkout]({PUBLIC}/incidents/42)"
    )
    assert render.reply_text(Reply("Incident #9 does not exist.", ok=False), PUBLIC) == (
        "⚠️ Incident #9 does not exist."
    )
    many = tuple(make_incident(id=i, title="t" * 90) for i in range(1, 200))
    listed = render.reply_text(Reply("199 open incidents", incidents=many, listed=True), PUBLIC)
    assert listed.startswith("**199 open incidents**") and len(listed) <= 2000 and listed.endswith("dashboard")
