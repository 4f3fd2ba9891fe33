"""Outgoing webhooks, PagerDuty and Jira in the real delivery worker with real outbox rows, against loopback
stand-ins that answer 429 and 500 when told: nothing lost, nothing doubled, a receiver that is down delays only its
own messages, and the delivery status says what each service answered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest

from bot.delivery import ChannelRegistry, DeliveryWorker, WorkerSettings
from bot.outgoing.settings import JiraSettings, PagerDutySettings
from bot.present import present
from store import deliveries, escalation, lifecycle, tickets
from store.db import Database
from store.domain.config_schema import Config, parse_config
from store.domain.delivery import RetryPolicy
from store.domain.incident import ActionSource
from store.domain.routing import Route
from store.ingest import ingest_batch
from store.sql import incidents as incidents_sql
from tests.support.api import running_app
from tests.support.escalation import CONFIG_DATA, T0, Clock
from tests.support.incidents import firing_body, open_incident, rows
from tests.support.jira_api import JiraApi
from tests.support.pagerduty_api import PagerDutyApi
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver
from web.outgoing import Outgoing, build_outgoing
from web.settings import HttpSettings, Settings
from webhook.alertmanager import parse_webhook

FAST = WorkerSettings(retry=RetryPolicy(base=0.05, cap=0.3, give_up=3600), lease=60, idle_poll=1, stop_grace=0.5)
SECRET = "whsec-integration-secret-0123"
PD_KEY = "0123456789abcdef0123456789abcdef"
PUBLIC_URL = "https://tocsin.example"


@dataclass
class World:
    audit: WebhookReceiver
    chat: WebhookReceiver
    pagerduty: PagerDutyApi
    jira: JiraApi
    db: Database
    config: Config | None = None
    outgoing: Outgoing | None = None
    worker: DeliveryWorker | None = None

    async def start(self, cloud: bool = True) -> World:
        self.jira.cloud = cloud
        self.config = parse_config({
            "webhooks": [
                {"id": "audit", "url": self.audit.url, "secret": SECRET},
                {"id": "chat", "url": self.chat.url, "events": ["opened", "resolved"],
                 "template": '{"text": "#{{ incident.id }} {{ event.kind }}: {{ incident.title }}"}'},
            ],
            "routes": [{"id": "web", "match": ['team="web"'], "pagerduty": {"routing_key": PD_KEY},
                        "jira": {"project": "OPS", "issue_type": "Incident", "reopen_transition": "Reopen"}}],
        }, Route(id="default"))
        env = self.jira.env()
        jira = JiraSettings(env["JIRA_URL"], env.get("JIRA_EMAIL"), env.get("JIRA_API_TOKEN"), env.get("JIRA_PAT"))
        settings = replace(Settings(), http=HttpSettings(public_url=PUBLIC_URL), jira=jira,
                           pagerduty=PagerDutySettings(self.pagerduty.events_url))
        config = self.config
        self.outgoing = build_outgoing(settings, self.db, lambda: config.routes, {"alice": "Alice Example"})
        registry = ChannelRegistry(self.outgoing.channels())
        registry.add_family(self.outgoing.webhooks)
        self.worker = DeliveryWorker(self.db, registry, FAST)
        await self.worker.start()
        return self

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        if self.outgoing is not None:
            await self.outgoing.close()

    async def open(self, group: str = "g1", team: str = "web") -> int:
        assert self.config is not None
        body = firing_body(group, labels={"team": team}, annotations={"summary": f"{group} is down"})
        return (await ingest_batch(self.db, parse_webhook(body), self.config.routes)).incident_ids[0]

    async def sent(self, channel: str, count: int = 1) -> bool:
        return sum(1 for r in await rows(self.db) if r["channel"] == channel and r["state"] == "sent") >= count


@pytest.fixture
async def world(db: Database) -> AsyncIterator[World]:
    found = World(await WebhookReceiver(SECRET).start(), await WebhookReceiver().start(),
                  await PagerDutyApi(routing_keys={PD_KEY}).start(), await JiraApi().start(), db)
    yield found
    await found.stop()
    for server in (found.audit, found.chat, found.pagerduty, found.jira):
        await server.stop()


async def test_webhooks_get_each_change_signed_in_order_through_429_and_500(world: World) -> None:
    world.audit.fail_next(1, 429, retry_after=0.2)
    world.audit.fail_next(1, 500)
    await world.start()
    incident_id = await world.open()
    await eventually(lambda: world.sent("webhook:audit"), 15, "the audit webhook's opened")
    await lifecycle.acknowledge(world.db, incident_id, "alice", ActionSource.SLACK)
    await lifecycle.add_note(world.db, incident_id, "alice", ActionSource.SLACK, "rolling back")
    await lifecycle.resolve(world.db, incident_id, "alice", ActionSource.SLACK)
    await eventually(lambda: _events(world.audit, 4), 15, "every change at the audit webhook")
    assert world.audit.events() == ["opened", "acknowledged", "note", "resolved"]
    assert world.audit.refused == []  # every signature checked out
    assert [r.status for r in world.audit.received[:2]] == [429, 500]
    resolved = world.audit.received[-1].json
    assert resolved["webhook"] == "audit" and resolved["event"]["kind"] == "resolved"
    assert resolved["event"]["actor"] == "alice" and resolved["event"]["source"] == "slack"
    assert resolved["incident"]["id"] == incident_id and resolved["incident"]["status"] == "resolved"
    assert resolved["incident"]["url"] == f"{PUBLIC_URL}/incidents/{incident_id}"
    ids = [r.headers["X-Tocsin-Event-Id"] for r in world.audit.received if r.status == 200]
    assert len(set(ids)) == 4  # each change once
    # The chat webhook heard only what it names, through its template, unsigned.
    await eventually(lambda: _events(world.chat, 2), 15, "the chat webhook's opened and resolved")
    assert [r.json["text"] for r in world.chat.received] == [f"#{incident_id} opened: g1 is down",
                                                             f"#{incident_id} resolved: g1 is down"]
    assert "X-Tocsin-Signature" not in world.chat.received[0].headers
    async with world.db.connection() as conn:
        status = (await deliveries.status_of(conn, [incident_id]))[incident_id]
    audit = status["webhook:audit"]["targets"][0]
    assert audit["state"] == "sent" and audit["reference"] == "HTTP 200" and audit["target"] == "audit"


async def test_a_receivers_retry_after_sets_the_next_attempt_or_gives_up_past_the_give_up_time(world: World) -> None:
    world.audit.fail_next(1, 429, retry_after=1800)  # FAST's backoff is at most 0.3 s and it gives up after an hour
    world.chat.fail_next(1, 503, retry_after=7200)
    await world.start()
    await world.open()
    await eventually(lambda: _errored(world.db, "webhook:audit", "HTTP 429"), 15, "audit's 429")
    await eventually(lambda: _state(world.db, "webhook:chat", "failed"), 15, "chat given up")
    by_channel = {r["channel"]: r for r in await rows(world.db)}
    audit, chat = by_channel["webhook:audit"], by_channel["webhook:chat"]
    assert audit["state"] == "pending" and audit["attempts"] == 1
    assert (audit["next_attempt_at"] - audit["updated_at"]).total_seconds() >= 1800
    assert chat["attempts"] == 1 and "HTTP 503" in chat["last_error"]


async def test_a_receiver_that_is_down_delays_only_its_own_messages(world: World) -> None:
    port = world.audit.port
    await world.audit.stop()
    await world.start()
    incident_id = await world.open()
    await lifecycle.resolve(world.db, incident_id, "alice", ActionSource.API)
    await eventually(lambda: _events(world.chat, 2), 15, "the other webhook's messages while audit is down")
    # PagerDuty's trigger and resolve (one delivery or two, as the burst coalesced) while audit is down
    await eventually(lambda: _pagerduty_status(world.pagerduty, incident_id, "resolved", 2), 15,
                     "PagerDuty's events while audit is down")
    audit = [r for r in await rows(world.db) if r["channel"] == "webhook:audit"]
    assert audit and all(r["state"] in ("pending", "sending") for r in audit)
    await eventually(lambda: _errored(world.db, "webhook:audit", "cannot reach"), 15, "audit's failed attempts")
    await world.audit.start(port)
    await eventually(lambda: _events(world.audit, 2), 20, "audit's messages once it is back")
    assert world.audit.events() == ["opened", "resolved"]  # nothing lost, nothing doubled


async def test_pagerduty_follows_the_incident_through_429_and_500(world: World) -> None:
    world.pagerduty.fail_next(1, 429)
    world.pagerduty.fail_next(1, 500)
    await world.start()
    incident_id = await world.open()
    await eventually(lambda: world.sent("pagerduty"), 15, "the trigger")
    await lifecycle.acknowledge(world.db, incident_id, "alice", ActionSource.TELEGRAM)
    await eventually(lambda: world.sent("pagerduty", 2), 15, "the acknowledgement")
    await lifecycle.resolve(world.db, incident_id, "alice", ActionSource.TELEGRAM)
    await eventually(lambda: world.sent("pagerduty", 3), 15, "the resolution")
    actions = [e["event_action"] for e in world.pagerduty.accepted()]
    assert actions == ["trigger", "acknowledge", "resolve"]
    assert world.pagerduty.alerts == {(PD_KEY, f"tocsin-{incident_id}"): "resolved"}
    trigger = world.pagerduty.accepted("trigger")[0]
    assert trigger["payload"]["summary"] == f"#{incident_id} g1 is down"
    assert trigger["client_url"] == f"{PUBLIC_URL}/incidents/{incident_id}"
    assert [c.status for c in world.pagerduty.calls[:2]] == [429, 500]


async def test_an_event_pagerduty_refuses_is_given_up_at_once(world: World) -> None:
    world.pagerduty.routing_keys.clear()  # the service's integration was deleted
    await world.start()
    await world.open()
    await eventually(lambda: _state(world.db, "pagerduty", "failed"), 15, "the refused trigger given up")
    (row,) = [r for r in await rows(world.db) if r["channel"] == "pagerduty"]
    assert row["attempts"] == 1 and "HTTP 400" in row["last_error"] and "Invalid routing key" in row["last_error"]


@pytest.mark.parametrize("cloud", [True, False], ids=["cloud", "data-center"])
async def test_jira_gets_an_issue_comments_and_a_transition_and_every_channel_shows_its_key(
    world: World, cloud: bool
) -> None:
    world.jira.fail_next(1, 429, retry_after=0.2)
    world.jira.fail_next(1, 500)
    await world.start(cloud)
    incident_id = await world.open()
    await eventually(lambda: world.sent("jira"), 15, "the Jira issue")
    (key,) = world.jira.issues
    issue = world.jira.issues[key]
    assert issue["fields"]["summary"] == f"[CRITICAL] #{incident_id} g1 is down"
    assert issue["fields"]["labels"] == ["tocsin", f"tocsin-{incident_id}"]
    async with world.db.connection() as conn:
        incident = await incidents_sql.get(conn, incident_id)
    url = f"{world.jira.url}/browse/{key}"
    assert incident.tickets == [{"system": "jira", "key": key, "url": url}]
    assert ("Jira " + key, url) in [(link.name, link.url) for link in present(incident, public_url=PUBLIC_URL).links]
    await lifecycle.acknowledge(world.db, incident_id, "alice", ActionSource.SLACK)
    await eventually(lambda: world.sent("jira", 2), 15, "the acknowledgement's comment")
    await lifecycle.resolve(world.db, incident_id, "alice", ActionSource.SLACK, "rolled back")
    await eventually(lambda: world.sent("jira", 3), 15, "the resolution")
    assert issue["comments"][0].startswith("Acknowledged by Alice Example via Slack")
    assert issue["comments"][1].startswith("Resolved by Alice Example via Slack: rolled back")
    assert issue["status"] == "Done" and len(world.jira.issues) == 1


async def test_a_lost_answer_to_jiras_create_does_not_open_a_second_issue(world: World) -> None:
    world.jira.lost_creates = 1
    await world.start()
    incident_id = await world.open()
    await eventually(lambda: world.sent("jira"), 15, "the Jira issue, found again by its label")
    assert len(world.jira.issues) == 1
    searches = [c for c in world.jira.calls if c.path == "search/jql"]
    assert searches and searches[0].status == 200
    async with world.db.connection() as conn:
        incident = await incidents_sql.get(conn, incident_id)
    assert [t["key"] for t in incident.tickets] == list(world.jira.issues)


async def test_a_reopened_incident_is_triggered_again_at_pagerduty_reopened_in_jira_and_told_to_webhooks(
    world: World,
) -> None:
    await world.start()
    incident_id = await world.open()
    await eventually(lambda: world.sent("jira"), 15, "the Jira issue")
    assert world.config is not None
    resolved = firing_body("g1", labels={"team": "web"}, annotations={"summary": "g1 is down"})
    resolved["status"] = resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2026-11-26T19:07:30.487Z"
    await ingest_batch(world.db, parse_webhook(resolved), world.config.routes)
    (key,) = world.jira.issues
    await eventually(lambda: _jira_status(world.jira, key, "Done"), 15, "the Jira issue done")
    refired = firing_body("g1", labels={"team": "web"}, annotations={"summary": "g1 is down"})
    refired["alerts"][0]["startsAt"] = "2026-11-26T19:09:00.000Z"  # the alert fires again: a new instance
    assert (await ingest_batch(world.db, parse_webhook(refired), world.config.routes)).incident_ids == [incident_id]
    await eventually(lambda: _jira_status(world.jira, key, "To Do"), 15, "the Jira issue reopened")
    await eventually(lambda: _events(world.audit, 3), 15, "the reopened webhook")
    assert world.audit.events() == ["opened", "resolved", "reopened"]
    assert world.audit.received[-1].json["incident"]["status"] == "triggered"
    assert [r.json["text"] for r in world.chat.received] == [f"#{incident_id} opened: g1 is down",
                                                             f"#{incident_id} resolved: g1 is down"]
    await eventually(lambda: _pagerduty_status(world.pagerduty, incident_id, "triggered", 3), 15,
                     "PagerDuty's alert triggered again")
    assert [e["event_action"] for e in world.pagerduty.accepted()] == ["trigger", "resolve", "trigger"]
    issue = world.jira.issues[key]
    assert len(world.jira.issues) == 1 and issue["comments"][-1].startswith("Reopened")


async def _jira_status(jira: JiraApi, key: str, status: str) -> bool:
    return jira.issues[key]["status"] == status


async def _pagerduty_status(pagerduty: PagerDutyApi, incident_id: int, status: str, events: int) -> bool:
    return (len(pagerduty.accepted()) >= events
            and pagerduty.alerts.get((PD_KEY, f"tocsin-{incident_id}")) == status)


async def test_an_incident_of_another_route_reaches_only_the_webhooks(world: World) -> None:
    await world.start()
    await world.open("g2", team="db")
    await eventually(lambda: world.sent("webhook:chat"), 15, "the chat webhook")
    await eventually(lambda: world.sent("webhook:audit"), 15, "the audit webhook")
    assert {r["channel"] for r in await rows(world.db)} == {"webhook:chat", "webhook:audit"}


async def _events(receiver: WebhookReceiver, count: int) -> bool:
    return len(receiver.events()) >= count


async def _state(db: Database, channel: str, state: str) -> bool:
    return any(r["channel"] == channel and r["state"] == state for r in await rows(db))


async def _errored(db: Database, channel: str, text: str) -> bool:
    return any(r["channel"] == channel and text in (r["last_error"] or "") for r in await rows(db))


async def test_the_dashboard_shows_the_incidents_jira_issue(db: Database, database_url: str) -> None:
    incident_id = await open_incident(db)
    url = "https://jira.example.com/browse/OPS-7"
    events = await tickets.attach(db, incident_id, "jira", "OPS-7", url, ActionSource.JIRA)
    assert [(e.kind, e.message) for e in events] == [("ticket", "Jira issue OPS-7 opened")]
    assert await tickets.attach(db, incident_id, "jira", "OPS-7", url, ActionSource.JIRA) == []  # once
    async with running_app(database_url, anonymous_read=True) as (_, client):
        page = await (await client.get(f"/incidents/{incident_id}")).get_data(as_text=True)
        detail = await (await client.get(f"/api/v1/incidents/{incident_id}")).get_json()
    assert f'<a href="{url}" rel="noreferrer">Jira OPS-7</a>' in page
    assert detail["tickets"] == [{"system": "jira", "key": "OPS-7", "url": url}]


async def test_an_escalation_step_reaches_the_webhooks_that_name_escalated(db: Database) -> None:
    receiver = await WebhookReceiver(SECRET).start()
    config = parse_config({**CONFIG_DATA, "webhooks": [{"id": "pages", "url": receiver.url, "secret": SECRET,
                                                        "events": ["escalated"]}]})
    outgoing = build_outgoing(Settings(), db, lambda: config.routes, {})
    registry = ChannelRegistry(outgoing.channels())
    registry.add_family(outgoing.webhooks)
    worker = DeliveryWorker(db, registry, FAST)
    await worker.start()
    try:
        body = firing_body("g1", annotations={"summary": "g1 is down"})
        (incident_id,) = (await ingest_batch(db, parse_webhook(body), config.routes, Clock())).incident_ids
        (step,) = await escalation.escalate_due(db, config, T0)
        await eventually(lambda: _events(receiver, 1), 15, "the escalated webhook")
    finally:
        await worker.stop()
        await outgoing.close()
        await receiver.stop()
    assert receiver.events() == ["escalated"] and receiver.refused == []  # not told of the opening
    sent = receiver.received[-1].json
    assert sent["incident"]["id"] == incident_id and sent["event"]["id"] == step.id
    assert sent["event"]["data"]["targets"] == step.data["targets"] and sent["event"]["message"] == step.message
