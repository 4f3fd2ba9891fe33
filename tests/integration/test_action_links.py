"""One-tap links at /act/{token} on the real store: a GET only shows what the link would do; a POST acts once as
the link's person through its channel; a used, altered or expired link is refused in words."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.email.client import EmailChannel
from bot.paging.app import PagingTransport
from bot.paging.settings import PagingSettings
from store import escalation, lifecycle, paging
from store.db import Database
from store.domain import action_links
from store.domain.incident import ActionSource, Status
from store.incidents import get_incident
from store.runtime import Runtime
from tests.support.email_delivery import email_settings, mail_stack
from tests.support.escalation import Clock
from tests.support.paging import LINK_KEY, T0, make_config, open_paged_incident
from tests.support.paging_world import PUBLIC, paging_world
from tests.support.smtp import SmtpSink


def link(incident_id: int, action: str = "ack", user: str = "alice", channel: str = "sms") -> str:
    return "/act/" + action_links.sign(LINK_KEY, incident_id, action, user, channel, T0)


async def used_links(db: Database) -> int:
    async with db.connection() as conn:
        return await conn.fetchval("SELECT count(*) FROM used_action_links")


async def test_a_get_confirms_without_acting_and_the_post_acts_once(db: Database) -> None:
    config = make_config()
    async with paging_world(db, config, Clock()) as world:
        incident_id = await open_paged_incident(db, config)
        path = link(incident_id)
        shown = await world.client.get(path)
        html = await shown.get_data(as_text=True)
        assert shown.status_code == 200 and "Acknowledge this incident?" in html and "Alice Example" in html
        assert '<form method="post">' in html and shown.headers["Referrer-Policy"] == "no-referrer"
        assert (await get_incident(db, incident_id)).status is Status.TRIGGERED and await used_links(db) == 0
        acted = await world.client.post(path)
        assert acted.status_code == 200 and "Recorded as yours, via SMS" in await acted.get_data(as_text=True)
        incident = await get_incident(db, incident_id)
        assert incident.status is Status.ACKNOWLEDGED and incident.acknowledged_by == "alice"
        reused = await world.client.post(path)
        assert reused.status_code == 410 and "already used" in await reused.get_data(as_text=True)
        assert (await world.client.get(path)).status_code == 410


async def test_altered_and_expired_links_are_refused_and_change_nothing(db: Database) -> None:
    config = make_config()
    clock = Clock()
    async with paging_world(db, config, clock) as world:
        incident_id = await open_paged_incident(db, config)
        path = link(incident_id)
        body, mac = path.removeprefix("/act/").split(".")
        other = action_links.sign(LINK_KEY, incident_id, "resolve", "alice", "sms", T0).split(".")[0]
        for altered in (f"/act/{other}.{mac}", f"/act/{body}.{mac[:-2]}AA", f"/act/{body}", "/act/x.y"):
            answer = await world.client.post(altered)
            assert answer.status_code == 403 and "was changed or cut short" in await answer.get_data(as_text=True)
        foreign = "/act/" + action_links.sign("k" * 40, incident_id, "ack", "alice", "sms", T0)
        assert (await world.client.post(foreign)).status_code == 403
        clock.now = T0 + timedelta(hours=25)
        expired = await world.client.post(path)
        assert expired.status_code == 410 and "expired" in await expired.get_data(as_text=True)
        assert (await get_incident(db, incident_id)).status is Status.TRIGGERED and await used_links(db) == 0


async def test_a_link_for_something_already_done_says_who_did_it_and_stays_unused(db: Database) -> None:
    config = make_config()
    async with paging_world(db, config, Clock()) as world:
        incident_id = await open_paged_incident(db, config)
        await lifecycle.acknowledge(db, incident_id, "bob", ActionSource.SLACK, now=T0)
        path = link(incident_id, channel="email")
        late = await world.client.post(path)
        assert late.status_code == 409 and "already acknowledged by bob" in await late.get_data(as_text=True)
        assert await used_links(db) == 0
        shown = await world.client.get(path)
        assert "Nothing to acknowledge" in await shown.get_data(as_text=True)
        resolved = await world.client.post(link(incident_id, "resolve", channel="email"))
        assert resolved.status_code == 200
        async with db.connection() as conn:
            source = await conn.fetchval("SELECT source FROM incident_events WHERE incident_id = $1 AND kind = "
                                         "'resolved'", incident_id)
        assert source == "email"


async def test_a_paged_persons_mail_carries_acknowledge_and_resolve_links(db: Database) -> None:
    config = make_config([{"method": "email", "after": "0m"}])
    clock = Clock()
    transport = PagingTransport(PagingSettings(link_key=LINK_KEY, public_url=PUBLIC),
                                lambda: Runtime(db=db, config=config, clock=clock), config.users)
    sink = SmtpSink()
    async with mail_stack(db, sink, lambda port: EmailChannel(email_settings(port),
                                                              actions=transport.email_actions)) as worker:
        incident_id = await open_paged_incident(db, config)
        await escalation.escalate_due(db, config, T0)
        await paging.notify_due(db, config, T0)
        worker.wake()
        (mail,) = await sink.wait_for(1)
        assert mail.recipients == ["alice@example.com"]
        text = mail.message.get_body(("plain",)).get_content()
        urls = re.findall(r"(Acknowledge|Resolve): (https://tocsin\.example/act/\S+)", text)
        assert [label for label, _ in urls] == ["Acknowledge", "Resolve"]
        link = action_links.verify(LINK_KEY, urls[0][1].rsplit("/", 1)[1], T0)
        assert (link.incident_id, link.action, link.user_id, link.channel) == (incident_id, "ack", "alice", "email")
        assert urls[0][1] in mail.message.get_body(("html",)).get_content()
    assert transport.email_actions(await get_incident(db, incident_id), "ops@example.com") == []
