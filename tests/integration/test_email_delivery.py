"""Email through the delivery worker to a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.email.client import EmailChannel
from store import deliveries
from store.db import Database, create_database
from store.settings import DatabaseSettings
from tests.support.email_delivery import PUBLIC, email_settings, mail_stack, started
from tests.support.incidents import EMAIL_ONLY, act, open_incident, rows
from tests.support.smtp import Received, SmtpSink, client_context, self_signed, server_context
from tests.support.waiting import eventually


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    await sink.start()
    yield sink
    await sink.stop()


async def all_sent(db: Database) -> bool:
    found = await rows(db)
    return bool(found) and all(r["state"] == "sent" for r in found)


def subjects(mails: list[Received]) -> list[str]:
    return [m.message["Subject"] for m in mails]


async def test_open_acknowledge_resolve_make_one_thread_of_three_mails(db: Database, smtp: SmtpSink) -> None:
    worker = await started(db, EmailChannel(email_settings(smtp.port)))
    try:
        incident_id = await open_incident(
            db,
            routes=EMAIL_ONLY,
            labels={"team": "a<b & c"},
            annotations={"runbook_url": "https://runbooks.example/x?a=1&b=2"},
        )
        await smtp.wait_for(1)
        await act(db, incident_id, "acknowledged")
        await smtp.wait_for(2)
        await act(db, incident_id, "note", message="no mail for notes")
        await act(db, incident_id, "resolved")
        mails = await smtp.wait_for(3)
        await eventually(lambda: all_sent(db))
    finally:
        await worker.stop()
    assert subjects(mails) == [
        f"[TRIGGERED] #{incident_id} always firing test alert (critical)",
        f"[ACKNOWLEDGED] #{incident_id} always firing test alert (critical)",
        f"[RESOLVED] #{incident_id} always firing test alert (critical)",
    ]
    first, ack, resolved = (m.message for m in mails)
    assert [m.recipients for m in mails] == [["ops@example.com"]] * 3
    assert first["In-Reply-To"] is None and first["Message-ID"]
    for reply in (ack, resolved):
        assert reply["In-Reply-To"] == first["Message-ID"] and reply["References"] == first["Message-ID"]
        assert reply["Message-ID"] != first["Message-ID"]
    assert first.get_content_type() == "multipart/alternative"
    text = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    dashboard = f"{PUBLIC}/incidents/{incident_id}"
    assert dashboard in text and f'href="{dashboard}"' in html
    assert "https://runbooks.example/x?a=1&b=2" in text and 'href="https://runbooks.example/x?a=1&amp;b=2"' in html
    assert "http://127.0.0.1:19090/graph?g0.expr=vector%281%29&g0.tab=1" in text  # the source graph
    assert "team=a<b & c" in text
    assert "a&lt;b &amp; c" in html and "a<b & c" not in html
    assert "Acknowledged by alice" in ack.get_body(("plain",)).get_content()
    stored = await rows(db)
    assert stored[0]["external_ref"] == first["Message-ID"]


async def test_smtp_down_for_a_while_then_everything_arrives_once(db: Database, smtp: SmtpSink) -> None:
    await smtp.stop()
    worker = await started(db, EmailChannel(email_settings(smtp.port)))
    try:
        ids = [await open_incident(db, group=f"g{i}", routes=EMAIL_ONLY) for i in range(5)]
        for incident_id in ids[:3]:
            await act(db, incident_id, "acknowledged")
        await act(db, ids[0], "resolved")

        async def retried() -> bool:
            found = await rows(db)
            return all(r["attempts"] >= 2 or r["kind"] == "update" for r in found)

        await eventually(retried)  # every open failed at least twice while the server was away
        assert smtp.received == [] and all(r["state"] != "sent" for r in await rows(db))
        assert all(
            "Connect" in (r["last_error"] or "") or "refused" in (r["last_error"] or "")
            for r in await rows(db)
            if r["attempts"]
        )
        await smtp.start()
        # 5 opens and 3 updates: the waiting acknowledge of the first incident was coalesced into its resolve.
        mails = await smtp.wait_for(8)
        await eventually(lambda: all_sent(db))
        await asyncio.sleep(0.3)  # nothing more comes
    finally:
        await worker.stop()
    assert len(smtp.received) == 8
    assert len({m.message["Message-ID"] for m in mails}) == 8
    per_incident = Counter(m.message["X-Tocsin-Incident"] for m in mails)
    assert per_incident == Counter({str(ids[0]): 2, str(ids[1]): 2, str(ids[2]): 2, str(ids[3]): 1, str(ids[4]): 1})
    assert [m.message["Subject"][:10] for m in mails if m.message["X-Tocsin-Incident"] == str(ids[0])] == [
        "[TRIGGERED",
        "[RESOLVED]",
    ]
    for incident_id in ids[:3]:  # the open went first in each thread, even after the outage
        thread = [m.message for m in mails if m.message["X-Tocsin-Incident"] == str(incident_id)]
        assert thread[0]["Subject"].startswith("[TRIGGERED]")
        assert all(m["In-Reply-To"] == thread[0]["Message-ID"] for m in thread[1:])


async def test_a_killed_worker_before_sending_another_sends_after_the_lease(db: Database, smtp: SmtpSink) -> None:
    incident_id = await open_incident(db, routes=EMAIL_ONLY)
    # The "killed" worker: it claimed the message with a short lease and never came back.
    [claimed] = await deliveries.claim(db, ["email"], 10, lease=1.0)
    assert claimed.incident_id == incident_id
    worker = await started(db, EmailChannel(email_settings(smtp.port)))
    try:
        await asyncio.sleep(0.3)
        assert smtp.received == []  # the lease still holds
        mails = await smtp.wait_for(1)
        await eventually(lambda: all_sent(db))
    finally:
        await worker.stop()
    assert len(mails) == 1
    assert (await rows(db))[0]["attempts"] == 2


async def test_a_worker_killed_after_the_smtp_handover_causes_one_duplicate(db: Database, smtp: SmtpSink) -> None:
    """At-least-once: a send that happened but was not recorded is sent again (the duplicate channels can see)."""
    await open_incident(db, routes=EMAIL_ONLY)
    channel = EmailChannel(email_settings(smtp.port))
    [claimed] = await deliveries.claim(db, ["email"], 10, lease=1.0)
    incident, events = await deliveries.load_for_send(db, claimed)
    assert (await channel.send(claimed, incident, events)).ok  # handed over... then the worker dies
    worker = await started(db, channel)
    try:
        mails = await smtp.wait_for(2)
        await eventually(lambda: all_sent(db))
    finally:
        await worker.stop()
    assert len(mails) == 2 and mails[0].message["Subject"] == mails[1].message["Subject"]
    assert mails[0].message["Message-ID"] != mails[1].message["Message-ID"]
    assert (await rows(db))[0]["external_ref"] == mails[1].message["Message-ID"]  # later replies thread to it


async def test_two_workers_on_one_database_send_each_message_once(database_url: str, smtp: SmtpSink) -> None:
    settings = DatabaseSettings(url=database_url, max_open_conns=5)
    db_a, db_b = await create_database(database_url, settings), await create_database(database_url, settings)
    channel = EmailChannel(email_settings(smtp.port))
    workers = [await started(db_a, channel, name="a"), await started(db_b, channel, name="b")]
    try:
        ids = await asyncio.gather(*(open_incident(db_a, group=f"g{i}", routes=EMAIL_ONLY) for i in range(20)))
        await asyncio.gather(*(act(db_b, i, "acknowledged") for i in ids[:10]))
        mails = await smtp.wait_for(30)
        await eventually(lambda: all_sent(db_a))
        await asyncio.sleep(0.3)
    finally:
        for worker in workers:
            await worker.stop()
        await db_a.close()
        await db_b.close()
    assert len(smtp.received) == 30
    assert all(r["attempts"] == 1 for r in await _rows_of(database_url))
    pairs = Counter((m.message["X-Tocsin-Incident"], m.message["Subject"].split("]")[0]) for m in mails)
    assert set(pairs.values()) == {1}


async def _rows_of(database_url: str) -> list[dict]:
    db = await create_database(database_url, DatabaseSettings(url=database_url, max_open_conns=1, max_idle_conns=0))
    try:
        return await rows(db)
    finally:
        await db.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def starttls_channel(certificate: tuple[Path, Path], password: str) -> Callable[[int], EmailChannel]:
    """An email channel logging in as tocsin over STARTTLS, trusting the test certificate."""

    def make(port: int) -> EmailChannel:
        settings = email_settings(port, tls="starttls", username="tocsin", password=password)
        return EmailChannel(settings, tls_context=client_context(certificate[0]))

    return make


async def test_starttls_with_login(db: Database, certificate: tuple[Path, Path]) -> None:
    sink = SmtpSink(starttls=server_context(*certificate), credentials=("tocsin", "s3cret"))
    async with mail_stack(db, sink, starttls_channel(certificate, "s3cret")):
        await open_incident(db, routes=EMAIL_ONLY)
        [mail] = await sink.wait_for(1)
    assert mail.tls and mail.login == "tocsin"


async def test_implicit_tls(db: Database, certificate: tuple[Path, Path]) -> None:
    sink = SmtpSink(implicit_tls=server_context(*certificate))

    def channel(port: int) -> EmailChannel:
        return EmailChannel(email_settings(port, tls="tls"), tls_context=client_context(certificate[0]))

    async with mail_stack(db, sink, channel):
        await open_incident(db, routes=EMAIL_ONLY)
        [mail] = await sink.wait_for(1)
    assert mail.message["Subject"].startswith("[TRIGGERED]")


async def test_wrong_password_is_retried_with_the_servers_answer(db: Database, certificate: tuple[Path, Path]) -> None:
    sink = SmtpSink(starttls=server_context(*certificate), credentials=("tocsin", "s3cret"))
    async with mail_stack(db, sink, starttls_channel(certificate, "wrong")):
        await open_incident(db, routes=EMAIL_ONLY)
        await eventually(lambda: _attempted(db))
    [row] = await rows(db)
    assert row["state"] in ("pending", "sending") and "535" in row["last_error"] and "wrong" not in row["last_error"]
    assert sink.received == []


async def _attempted(db: Database) -> bool:
    found = await rows(db)
    return bool(found) and found[0]["attempts"] >= 2 and found[0]["last_error"] is not None
