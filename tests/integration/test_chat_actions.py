"""The chat core (bot/actions.py) over the real store: what every chat does to incidents, and the words it answers."""

from __future__ import annotations

from datetime import datetime, timedelta

from store import lifecycle
from store.db import Database
from store.domain.incident import ActionSource, Status
from tests.support.chat_core import RecordingSilencer, core_on, note_texts, people_did
from tests.support.incidents import open_incident

SLACK, TELEGRAM = ActionSource.SLACK, ActionSource.TELEGRAM


async def test_acknowledge_resolve_and_conflicts_name_who_and_when(db: Database) -> None:
    actions = core_on(db)
    incident_id = await open_incident(db, "chat")
    acked = await actions.acknowledge(f"#{incident_id}", "alice", SLACK)
    assert acked.ok and acked.incident is not None and acked.incident.status is Status.ACKNOWLEDGED
    assert acked.text.startswith(f"Acknowledged #{incident_id} ") and acked.verb == "Acknowledged"
    resolved = await actions.resolve(incident_id, "bob", TELEGRAM, "disk cleaned")
    assert resolved.ok and resolved.text.startswith(f"Resolved #{incident_id}")
    refused = await actions.acknowledge(incident_id, "carol", SLACK)
    assert not refused.ok and refused.text.startswith(f"Cannot acknowledge #{incident_id}: #{incident_id} was already "
                                                      "resolved by bob at ")
    assert await people_did(db, incident_id) == [("acknowledged", "alice", "slack"), ("resolved", "bob", "telegram")]
    assert await note_texts(db, incident_id) == ["disk cleaned"]


async def test_unknown_and_mistyped_incidents_are_told_in_the_same_words(db: Database) -> None:
    actions = core_on(db)
    assert (await actions.resolve(999, "alice", SLACK)).text == "Incident #999 does not exist."
    assert (await actions.acknowledge("¹", "alice", SLACK)).text == "'¹' is not an incident number (such as 42 or #42)."
    assert not (await actions.press("dance", "1", "alice", SLACK)).ok


async def test_list_open_oncall_notes_and_open_by_hand(db: Database) -> None:
    actions = core_on(db)
    first = await open_incident(db, "one")
    second = await open_incident(db, "two")
    await actions.acknowledge(first, "alice", SLACK)
    made = await actions.open("Database is slow", "alice", SLACK)
    assert made.ok and made.incident is not None and made.incident.title == "Database is slow"
    listed = await actions.list_open()
    assert listed.listed and [i.id for i in listed.incidents] == [made.incident.id, second, first]
    noted = await actions.note(second, "alice\x00", SLACK, "looking\x00 at it")
    assert noted.ok and noted.text.startswith(f"Noted on #{second}")
    assert await people_did(db, second) == [("note", "alice\ufffd", "slack")]
    assert (await actions.note(second, "alice", SLACK, "  ")).text == "Text: expected a non-empty note."
    await actions.resolve(second, "alice", SLACK)
    assert second not in [i.id for i in (await actions.list_open()).incidents]
    assert (await actions.oncall()).text == "No on-call schedules are configured."
    assert (await actions.open(" ", "alice", SLACK)).text == "A new incident needs a title."


async def test_silence_is_one_service_seen_by_the_lifecycle_listeners(db: Database) -> None:
    silencer = RecordingSilencer()
    actions = core_on(db, silencer)
    incident_id = await open_incident(db, "quiet")
    seen: list[str] = []

    def listener(result: lifecycle.ActionResult) -> None:
        seen.append(result.action)

    lifecycle.add_listener(listener)
    try:
        reply = await actions.silence(incident_id, "alice", TELEGRAM, "2h")
    finally:
        lifecycle.remove_listener(listener)
    assert reply.ok and reply.text.endswith(" for 2h")
    assert seen == ["silence"] and len(silencer.bodies) == 1
    body = silencer.bodies[0]
    starts, ends = (datetime.fromisoformat(str(body[k]).replace("Z", "+00:00")) for k in ("startsAt", "endsAt"))
    assert ends - starts == timedelta(hours=2)
    assert body["createdBy"] == "alice" and body["comment"] == f"Tocsin incident #{incident_id}"
    assert await people_did(db, incident_id) == [("silenced", "alice", "telegram")]
    assert (await actions.silence(incident_id, "alice", TELEGRAM, "forever")).text.startswith("'forever' is not")


async def test_silence_without_alertmanager_and_before_serving_are_clear_words(db: Database) -> None:
    incident_id = await open_incident(db, "quiet")
    off = await core_on(db).silence(incident_id, "alice", TELEGRAM)
    assert not off.ok and off.text == "Silences are off: ALERTMANAGER_URL is not set on Tocsin."
    starting = await core_on(None).acknowledge(incident_id, "alice", SLACK)
    assert starting.text == "Could not acknowledge: Tocsin is starting or stopping; try again in a moment"
