"""SMS and voice pages through the Twilio stand-in with the real delivery worker and store: replies and
keypresses signed as Twilio signs them act as the person; unsigned and forged ones are refused with 403 and
change nothing; at most one message a minute reaches a number; Twilio's 429 and 500 are retried."""

from __future__ import annotations

from datetime import timedelta

from store import escalation, paging
from store.db import Database
from store.domain.config_schema import Config
from store.domain.incident import Status
from store.incidents import get_incident
from tests.support import twilio_api
from tests.support.escalation import Clock
from tests.support.incidents import rows
from tests.support.paging import ALICE_PHONE, BOB_PHONE, T0, make_config, open_paged_incident
from tests.support.paging_world import PagingWorld, paging_world
from tests.support.twilio_api import TwilioApi
from tests.support.waiting import eventually

SMS_FIRST = [{"method": "sms", "after": "0m"}]
VOICE_FIRST = [{"method": "voice", "after": "0m"}, {"method": "sms", "after": "5m"}]


async def run_at(world: PagingWorld, minutes: float = 0) -> None:
    world.runtime.clock.now = T0 + timedelta(minutes=minutes)  # type: ignore[attr-defined]
    await escalation.escalate_due(world.runtime.db, world.runtime.config, world.runtime.clock())
    await paging.notify_due(world.runtime.db, world.runtime.config, world.runtime.clock())
    world.worker.wake()


async def texts(world: PagingWorld, number: str, count: int = 1) -> list[dict[str, str]]:
    async def arrived() -> bool:
        return len(world.twilio.texts_to(number)) >= count

    await eventually(arrived, 10, f"{count} text(s) to {number}")
    return world.twilio.texts_to(number)


async def status_of(db: Database, incident_id: int) -> Status:
    return (await get_incident(db, incident_id)).status


async def a_call_to_alice(db: Database, config: Config, world: PagingWorld) -> tuple[int, dict[str, str]]:
    """A paged incident and the call its first (voice) rule made."""
    incident_id = await open_paged_incident(db, config)
    await run_at(world)
    await eventually(_has(world.twilio.calls_made), 10, "the call")
    (call,) = world.twilio.calls_made
    return incident_id, call


async def test_the_sms_names_the_incident_and_a_signed_reply_1_acknowledges_it(db: Database) -> None:
    config = make_config(SMS_FIRST)
    async with paging_world(db, config, Clock()) as world:
        incident_id = await open_paged_incident(db, config)
        await run_at(world)
        (text,) = await texts(world, ALICE_PHONE)
        assert text["From"] == twilio_api.FROM
        assert text["Body"].startswith(f"Tocsin #{incident_id} [critical] ")
        assert "Reply 1 to acknowledge, 2 to resolve" in text["Body"] and "https://tocsin.example/act/" in text["Body"]
        form = TwilioApi.sms_form(ALICE_PHONE, "1")
        unsigned = await world.client.post("/twilio/sms", form=form)
        forged = await world.post_signed("/twilio/sms", form, token="0" * 32)
        altered = await world.client.post("/twilio/sms", form={**form, "Body": "2"},
                                          headers=twilio_api.signed("https://tocsin.example/twilio/sms", form))
        assert [r.status_code for r in (unsigned, forged, altered)] == [403, 403, 403]
        assert await status_of(db, incident_id) is Status.TRIGGERED
        answer = await world.post_signed("/twilio/sms", form)
        body = await answer.get_data(as_text=True)
        assert answer.status_code == 200 and "<Message>Tocsin: Acknowledged #" in body
        assert (await get_incident(db, incident_id)).acknowledged_by == "alice"
        replay = await world.post_signed("/twilio/sms", form)
        assert "already carried out" in await replay.get_data(as_text=True)


async def test_a_reply_may_name_another_incident_and_a_stranger_or_nonsense_changes_nothing(db: Database) -> None:
    config = make_config(SMS_FIRST)
    async with paging_world(db, config, Clock()) as world:
        first = await open_paged_incident(db, config, "g1")
        await open_paged_incident(db, config, "g2")
        stranger = await world.post_signed("/twilio/sms", TwilioApi.sms_form("+4930123456", "1", "SM1"))
        assert "not a Tocsin user's phone" in await stranger.get_data(as_text=True)
        nonsense = await world.post_signed("/twilio/sms", TwilioApi.sms_form(ALICE_PHONE, "yes please", "SM2"))
        assert "Reply 1 to acknowledge" in await nonsense.get_data(as_text=True)
        resolve = await world.post_signed("/twilio/sms", TwilioApi.sms_form(ALICE_PHONE, f"2 {first}", "SM3"))
        assert f"Resolved #{first}" in await resolve.get_data(as_text=True)
        assert await status_of(db, first) is Status.RESOLVED


async def test_the_call_reads_the_incident_and_keys_acknowledge_or_escalate(db: Database) -> None:
    config = make_config(VOICE_FIRST)
    async with paging_world(db, config, Clock()) as world:
        incident_id, call = await a_call_to_alice(db, config, world)
        assert call["To"] == ALICE_PHONE and call["Url"].startswith("https://tocsin.example/twilio/voice?t=")
        path = world.local(call["Url"])
        menu = await world.post_signed(path, TwilioApi.call_form(call))
        twiml = await menu.get_data(as_text=True)
        assert "<Gather" in twiml and 'numDigits="1"' in twiml and "Press 1 to acknowledge" in twiml
        assert (await world.client.post(path, form=TwilioApi.call_form(call, "1"))).status_code == 403
        escalate = await world.post_signed(path, TwilioApi.call_form(call, "3"))
        assert "Escalated" in await escalate.get_data(as_text=True)
        await run_at(world, 0.1)  # the next step (bob, every contact at once) fires now, not at 10m
        await texts(world, BOB_PHONE)
        async with db.connection() as conn:
            kinds = [r["kind"] for r in await conn.fetch(
                "SELECT kind FROM incident_events WHERE incident_id = $1 ORDER BY id", incident_id)]
        assert kinds.count("escalated") == 2 and "escalation_requested" in kinds
        (page,) = await paging.pages_of(db, incident_id)
        assert page.state == "stopped"  # alice is paged no further: her SMS at 5m never comes
        await run_at(world, 6)
        assert world.twilio.texts_to(ALICE_PHONE) == []
        again = await world.post_signed(path, TwilioApi.call_form(call, "1"))
        assert "already carried out" in await again.get_data(as_text=True)  # one action per call


async def test_a_forged_keypress_changes_nothing_and_a_signed_2_resolves_as_the_person_called(db: Database) -> None:
    config = make_config(VOICE_FIRST)
    async with paging_world(db, config, Clock()) as world:
        incident_id, call = await a_call_to_alice(db, config, world)
        path = world.local(call["Url"])
        forged = await world.post_signed(path, TwilioApi.call_form(call, "2"), token="0" * 32)
        assert forged.status_code == 403 and await status_of(db, incident_id) is Status.TRIGGERED
        resolve = await world.post_signed(path, TwilioApi.call_form(call, "2"))
        assert resolve.status_code == 200 and "Resolved" in await resolve.get_data(as_text=True)
        assert await status_of(db, incident_id) is Status.RESOLVED
        async with db.connection() as conn:
            events = await conn.fetch("SELECT kind, actor, source FROM incident_events WHERE incident_id = $1",
                                      incident_id)
        assert ("resolved", "alice", "voice") in [(e["kind"], e["actor"], e["source"]) for e in events]
        await run_at(world, 6)  # the SMS rule at 5m never fires for a resolved incident
        assert world.twilio.texts_to(ALICE_PHONE) == []


async def test_at_most_one_message_a_minute_reaches_a_number(db: Database) -> None:
    config = make_config(SMS_FIRST)
    async with paging_world(db, config, Clock()) as world:
        for group in ("g1", "g2"):
            await open_paged_incident(db, config, group)
        await run_at(world)
        await texts(world, ALICE_PHONE)

        async def second_held() -> bool:
            return any(r["channel"] == "sms" and r["state"] == "pending" and "at most one message a minute"
                       in (r["last_error"] or "") for r in await rows(db))

        await eventually(second_held, 10, "the second text held back")
        assert len(world.twilio.texts_to(ALICE_PHONE)) == 1


async def test_twilio_429_and_500_are_retried_by_the_outbox(db: Database) -> None:
    config = make_config(SMS_FIRST)
    async with paging_world(db, config, Clock()) as world:
        world.twilio.fail_next(1, 429, retry_after=0.2)
        world.twilio.fail_next(1, 500)
        await open_paged_incident(db, config)
        await run_at(world)
        (text,) = await texts(world, ALICE_PHONE)
        assert [c.status for c in world.twilio.calls] == [429, 500, 201]


def _has(items: list[object]):  # noqa: ANN202 - a check for eventually()
    async def check() -> bool:
        return bool(items)

    return check
