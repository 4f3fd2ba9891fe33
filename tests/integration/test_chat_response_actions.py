"""The chat core's entries for the actions around an acknowledgement, maintenance windows and heartbeats, over the
real store with a hand-moved clock: what they change, what the timeline says, and the words every chat answers."""

from __future__ import annotations

from datetime import timedelta

from bot.actions import ChatActions
from bot.commands import parse_command, run
from store import escalation, heartbeats, lifecycle
from store.db import Database
from store.domain.config_schema import Config, parse_config
from store.domain.incident import ActionSource
from store.runtime import Runtime
from tests.integration.test_ack_lifecycle import kinds, open_incident, status_of
from tests.integration.test_escalation import escalations, steps_of
from tests.support.escalation import CONFIG_DATA, T0, Clock
from tests.support.oncall import alert, incident_row, ingest

SLACK, TELEGRAM = ActionSource.SLACK, ActionSource.TELEGRAM
CONFIG = parse_config({
    **CONFIG_DATA,
    # Maintenance windows and muting heartbeats are an admin's (issue 21's roles): alice is one, bob responds.
    "users": [{**CONFIG_DATA["users"][0], "role": "admin"}, *CONFIG_DATA["users"][1:]],
    "routes": [{"id": "db", "match": ['service="db"']}, *CONFIG_DATA["routes"]],
    "heartbeats": [{"id": "alertmanager", "timeout": "5m"}, {"id": "backup", "timeout": "1d"}],
    "maintenance": [{"id": "saturday-db", "match": ['service="db"'], "weekly": "Sat 02:00", "duration": "2h",
                     "timezone": "Europe/Berlin"}],
})


def core(db: Database, clock: Clock, config: Config = CONFIG) -> ChatActions:
    runtime = Runtime(db=db, config=config, clock=clock)
    return ChatActions(lambda: runtime)


async def test_unacknowledge_reassign_and_snooze_from_chat(db: Database) -> None:
    clock = Clock()
    actions = core(db, clock)
    incident_id = await open_incident(db, CONFIG, clock)
    refused = await actions.unacknowledge(incident_id, "bob", SLACK)
    assert not refused.ok and refused.text == f"Cannot unacknowledge #{incident_id}: #{incident_id} was triggered."
    await lifecycle.acknowledge(db, incident_id, "alice", SLACK, now=T0)
    reply = await actions.unacknowledge(f"#{incident_id}", "bob", TELEGRAM)
    assert reply.ok and reply.verb == "Unacknowledged" and reply.text.startswith(f"Unacknowledged #{incident_id} ")
    assert await status_of(db, incident_id) == ("triggered", None)
    handed = await actions.reassign(incident_id, "<@U01CAROL>", "bob", SLACK)
    assert handed.ok and handed.text.endswith(" to Carol")
    assert await status_of(db, incident_id) == ("acknowledged", "carol")
    assert (await actions.reassign(incident_id, "@Alice", "bob", TELEGRAM)).text.endswith(" to Alice Example")
    unknown = await actions.reassign(incident_id, "mallory", "bob", SLACK)
    assert unknown.text == "'mallory' is not a user of Tocsin's config (give their id or mention them)."
    again = await actions.reassign(incident_id, "alice", "bob", SLACK)
    assert again.text == f"Cannot reassign #{incident_id}: it is already acknowledged by alice."
    clock.now = T0 + timedelta(minutes=5)
    snoozed = await actions.snooze(incident_id, "carol", SLACK, "2h")
    assert snoozed.ok and snoozed.text.endswith(" for 2h, until 2026-11-26 21:08 UTC")
    assert (await actions.snooze(incident_id, "carol", SLACK, "31d")).text.startswith("'31d' is not a duration")
    assert [(kind, actor) for kind, actor, _ in await kinds(db, incident_id, "unacknowledged", "reassigned",
                                                           "snoozed")] == [
        ("unacknowledged", "bob"), ("reassigned", "bob"), ("reassigned", "bob"), ("snoozed", "carol")]
    await lifecycle.resolve(db, incident_id, "carol", SLACK)
    late = await actions.snooze(incident_id, "carol", SLACK)
    assert not late.ok and late.text.startswith(f"Cannot snooze #{incident_id}: #{incident_id} was already resolved")


async def test_escalate_now_from_chat_names_the_step_and_its_refusals(db: Database) -> None:
    clock = Clock()
    actions = core(db, clock)
    incident_id = await open_incident(db, CONFIG, clock)
    await escalation.escalate_due(db, CONFIG, T0)
    clock.now = T0 + timedelta(minutes=2)
    reply = await actions.escalate(incident_id, "alice", SLACK)
    assert reply.ok and reply.text.endswith(" to step 2: notified Carol (Slack DM, email) and #C0LEADS")
    assert steps_of(await escalations(db, incident_id)) == [(1, 1), (1, 2)]
    assert (await actions.escalate(999, "alice", SLACK)).text == "Incident #999 does not exist."
    await lifecycle.resolve(db, incident_id, "alice", SLACK, now=T0 + timedelta(minutes=3))
    assert (await actions.escalate(incident_id, "alice", SLACK)).text.startswith(
        f"Cannot escalate #{incident_id}: #{incident_id} was already resolved by alice")
    plain = parse_config({**CONFIG_DATA, "routes": [{"id": "all"}]})
    other = await open_incident(db, plain, Clock(T0 + timedelta(hours=2)))
    refused = await core(db, clock, plain).escalate(other, "alice", SLACK)
    assert refused.text == f"Cannot escalate #{other}: its route has no escalation policy."


async def test_maintenance_from_chat_quiets_matching_alerts_and_ends(db: Database) -> None:
    clock = Clock()
    actions = core(db, clock)
    command = parse_command('maintenance 2h service="db" instance=~"db-.*"')
    refused = await run(actions, command, "bob", SLACK)
    assert not refused.ok and refused.text.startswith("Not allowed: Bob Example has role responder")
    made = await run(actions, command, "alice", SLACK)
    assert made.ok and made.text.startswith('Maintenance ') and made.text.endswith(
        " for 2h, until 2026-11-26 21:03 UTC: alerts it covers open incidents that do not page")
    assert 'service="db"' in made.text and 'instance=~"db-.*"' in made.text
    (incident_id,) = await ingest(db, CONFIG, T0 + timedelta(minutes=1),
                                  [alert("f1", {"service": "db", "instance": "db-1"}, T0)])
    window_id = (await incident_row(db, incident_id))["maintenance_id"]
    assert window_id is not None
    listed = await actions.list_maintenance()
    lines = listed.text.splitlines()
    assert lines[0] == "Maintenance windows:" and len(lines) == 3
    assert lines[1].startswith("saturday-db") and lines[1].endswith(": next 2026-11-28 01:00 UTC to 2026-11-28 "
                                                                    "03:00 UTC")
    assert lines[2].endswith(": on 2026-11-26 19:03 UTC to 2026-11-26 21:03 UTC")
    config_window = await actions.end_maintenance("saturday-db", "alice")
    assert config_window.text == "Maintenance window saturday-db is declared in the config file; remove it there."
    clock.now = T0 + timedelta(minutes=30)
    ended = await actions.end_maintenance(window_id, "alice")
    assert ended.ok and ended.text.startswith("Ended maintenance ")
    assert (await incident_row(db, incident_id))["maintenance_id"] is None
    assert (await actions.end_maintenance("nope", "alice")).text == "Maintenance window nope does not exist."
    bad = await run(actions, parse_command('maintenance 45d service="db"'), "alice", SLACK)
    assert not bad.ok and bad.text.startswith("'45d' is not a duration from 1m to 31d")
    wrong = await run(actions, parse_command("maintenance 2h service~db"), "alice", SLACK)
    assert not wrong.ok and wrong.text.startswith("Match[0]: ")


async def test_heartbeats_are_listed_and_muted_from_chat(db: Database) -> None:
    clock = Clock()
    actions = core(db, clock)
    assert (await actions.list_heartbeats()).text == (
        "Heartbeats:\nalertmanager: inactive, never pinged (timeout 5m)\nbackup: inactive, never pinged (timeout 1d)")
    await heartbeats.ping(db, CONFIG, "alertmanager", clock)
    muted = await run(actions, parse_command("heartbeats mute alertmanager 2h"), "alice", TELEGRAM)
    assert muted.text == "Muted heartbeat alertmanager until 2026-11-26 21:03 UTC: a missing ping opens no incident"
    assert (await actions.list_heartbeats()).text.splitlines()[1] == (
        "alertmanager: muted, last ping 2026-11-26 19:03 UTC (timeout 5m)")
    assert await heartbeats.check_due(db, CONFIG, T0 + timedelta(hours=1)) == []
    unmuted = await run(actions, parse_command("heartbeats unmute alertmanager"), "alice", TELEGRAM)
    assert unmuted.text == "Unmuted heartbeat alertmanager: it is up"
    unknown = await run(actions, parse_command("heartbeats mute nope"), "alice", TELEGRAM)
    assert not unknown.ok and "nope" in unknown.text
