"""An escalation step reaches the people it pages: their contacts become messages in the outbox, and email arrives."""

from __future__ import annotations

from datetime import timedelta

from bot.email.client import EmailChannel
from store import escalation
from store.db import Database
from store.ingest import ingest_batch
from tests.conftest import load_sample
from tests.support.email_delivery import email_settings, mail_stack
from tests.support.escalation import Clock, make_config
from tests.support.smtp import SmtpSink
from webhook.alertmanager import parse_webhook


async def streams(db: Database, incident_id: int) -> set[tuple[str, str]]:
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT DISTINCT channel, target FROM deliveries WHERE incident_id = $1", incident_id)
    return {(r["channel"], r["target"]) for r in rows}


async def test_step_two_pages_carol_by_slack_dm_email_and_the_leads_channel(db: Database) -> None:
    config, clock = make_config(), Clock()
    result = await ingest_batch(db, parse_webhook(load_sample("05_firing_from_prometheus.json")), config.routes, clock)
    incident_id = result.incident_ids[0]
    before = await streams(db, incident_id)
    for _ in range(2):
        await escalation.escalate_due(db, config, clock.now)
        clock.now += timedelta(minutes=20)
    await escalation.escalate_due(db, config, clock.now)
    paged = await streams(db, incident_id) - before
    assert ("slack", "U01CAROL") in paged and ("email", "carol@example.com") in paged
    assert ("slack", "C0LEADS") in paged


async def test_a_paged_person_receives_the_email(db: Database) -> None:
    sink = SmtpSink()
    async with mail_stack(db, sink, lambda port: EmailChannel(email_settings(port))) as worker:
        config, clock = make_config(), Clock()
        await ingest_batch(db, parse_webhook(load_sample("05_firing_from_prometheus.json")), config.routes, clock)
        for _ in range(3):
            await escalation.escalate_due(db, config, clock.now)
            clock.now += timedelta(minutes=20)
        worker.wake()
        mails = await sink.wait_for(1)
        assert any("carol@example.com" in m.recipients for m in mails)
