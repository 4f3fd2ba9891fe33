"""Push pages through ntfy and Pushover stand-ins with the real delivery worker and the real store: a tap on the
push's Acknowledge acts as the person through that channel, and nothing pages after it."""

from __future__ import annotations

from datetime import timedelta

from store import escalation, lifecycle, paging
from store.db import Database
from store.domain.incident import ActionSource, Status
from store.incidents import get_incident
from tests.support.escalation import Clock
from tests.support.incidents import rows
from tests.support.paging import ALICE_PUSHOVER, ALICE_TOPIC, T0, make_config, open_paged_incident
from tests.support.paging_world import PagingWorld, paging_world
from tests.support.waiting import eventually


async def run_at(world: PagingWorld, minutes: float = 0) -> None:
    """One scheduler run (steps, then rules) at T0 + minutes, and a wake-up of the worker."""
    world.runtime.clock.now = T0 + timedelta(minutes=minutes)  # type: ignore[attr-defined]
    config, now = world.runtime.config, world.runtime.clock()
    await escalation.escalate_due(world.runtime.db, config, now)
    await paging.notify_due(world.runtime.db, config, now)
    world.worker.wake()


async def timeline(db: Database, incident_id: int) -> list[tuple[str, str, str]]:
    async with db.connection() as conn:
        found = await conn.fetch("SELECT kind, actor, source FROM incident_events WHERE incident_id = $1 ORDER BY id",
                                 incident_id)
    return [(r["kind"], r["actor"], r["source"]) for r in found]


async def test_the_ntfy_push_acknowledges_in_one_tap_and_the_sms_rule_never_fires(db: Database) -> None:
    config = make_config()
    async with paging_world(db, config, Clock()) as world:
        incident_id = await open_paged_incident(db, config)
        await run_at(world)
        await eventually(lambda: _async(world.ntfy.to(ALICE_TOPIC)), 10, "the ntfy push")
        # Pushover's too: a page still waiting when the acknowledgement comes is never sent, so nothing to cancel.
        await eventually(lambda: _async(world.pushover.to(ALICE_PUSHOVER)), 10, "the Pushover push")
        (push,) = world.ntfy.to(ALICE_TOPIC)
        assert push["priority"] == 5 and push["title"].startswith(f"#{incident_id} [critical]")
        assert [a["label"] for a in push["actions"]] == ["Acknowledge", "Resolve"]
        assert world.ntfy.calls[0].headers["Authorization"] == "Bearer tk_paging0tests0ntfy0token00001"
        tap = await world.client.post(world.local(world.ntfy.action(push, "Acknowledge")["url"]))
        assert tap.status_code == 200
        assert (await get_incident(db, incident_id)).acknowledged_by == "alice"
        assert ("acknowledged", "alice", "ntfy") in await timeline(db, incident_id)
        for minutes in (1, 5, 10):
            await run_at(world, minutes)
        await eventually(lambda: _async(world.pushover.cancelled_tags), 10, "Pushover's repetition cancelled")
        assert world.twilio.messages == [] and world.twilio.calls_made == []
        assert world.pushover.cancelled_tags == [f"tocsin-incident-{incident_id}"]


async def test_pushover_emergency_is_acknowledged_through_its_callback_once_pushover_confirms(db: Database) -> None:
    config = make_config([{"method": "push", "after": "0m"}])
    async with paging_world(db, config, Clock()) as world:
        incident_id = await open_paged_incident(db, config)
        await run_at(world)
        await eventually(lambda: _async(world.pushover.to(ALICE_PUSHOVER)), 10, "the Pushover message")
        (message,) = world.pushover.to(ALICE_PUSHOVER)
        assert message["priority"] == "2" and message["retry"] == "60" and message["expire"] == "3600"
        assert message["callback"] == "https://tocsin.example/pushover/callback"
        assert message["url"].startswith("https://tocsin.example/act/") and message["url_title"] == (
            f"Acknowledge #{incident_id}")
        confirm = await world.client.get(world.local(message["url"]))  # the one-tap link: a GET only asks
        assert confirm.status_code == 200 and "<form" in await confirm.get_data(as_text=True)
        await eventually(lambda: _receipt_stored(db), 10, "the receipt recorded")
        forged = await world.client.post("/pushover/callback", form={"receipt": message["receipt"],
                                                                     "acknowledged": "1"})
        assert forged.status_code == 403  # Pushover's receipt API says it is not acknowledged
        unknown = await world.client.post("/pushover/callback", form={"receipt": "x" * 30, "acknowledged": "1"})
        assert unknown.status_code == 404
        assert (await get_incident(db, incident_id)).status is Status.TRIGGERED
        world.pushover.receipts[message["receipt"]].update(acknowledged=True, acknowledged_by=ALICE_PUSHOVER)
        answer = await world.client.post("/pushover/callback", form={"receipt": message["receipt"]})
        assert answer.status_code == 200
        assert ("acknowledged", "alice", "pushover") in await timeline(db, incident_id)
        again = await world.client.post("/pushover/callback", form={"receipt": message["receipt"]})
        assert again.status_code == 200 and "already" in (await again.get_data(as_text=True))


async def test_a_failing_push_provider_delays_only_its_own_messages_and_the_next_rule_fires_on_time(
    db: Database,
) -> None:
    config = make_config([{"method": "push", "after": "0m"}, {"method": "sms", "after": "1m"}])
    async with paging_world(db, config, Clock()) as world:
        world.ntfy.fail_for(60, status=500)
        world.pushover.fail_next(50, status=429, retry_after=30)
        incident_id = await open_paged_incident(db, config)
        await run_at(world)
        await run_at(world, 1)
        await eventually(lambda: _async(world.twilio.messages), 10, "the SMS while push providers fail")
        states = {r["channel"]: r["state"] for r in await rows(db) if r["incident_id"] == incident_id}
        assert states["sms"] == "sent" and states["ntfy"] != "sent" and states["pushover"] != "sent"
        assert world.ntfy.messages == [] and world.pushover.messages == []
        world.ntfy.recovered()
        assert any(c.status == 500 for c in world.ntfy.calls)


async def _async(value: object) -> object:
    return value


async def _receipt_stored(db: Database) -> bool:
    return any(r["channel"] == "pushover" and r["external_ref"] for r in await rows(db))


async def test_a_page_held_up_by_a_failing_provider_is_never_sent_after_the_acknowledgement(db: Database) -> None:
    config = make_config([{"method": "push", "after": "0m"}])
    async with paging_world(db, config, Clock()) as world:
        world.ntfy.fail_for(60, status=500)
        incident_id = await open_paged_incident(db, config)
        await run_at(world)

        async def failed_once() -> bool:
            return any(c.status == 500 for c in world.ntfy.calls)

        await eventually(failed_once, 10, "ntfy failing the push")
        await lifecycle.acknowledge(db, incident_id, "bob", ActionSource.SLACK)
        acknowledged_at = len(world.ntfy.calls)

        async def settled() -> bool:
            return any(r["channel"] == "ntfy" and r["state"] == "sent" for r in await rows(db, incident_id))

        async def past_claims_done() -> bool:
            # A retry claimed before the acknowledgement (retries come every 50 ms) may still be on its way to
            # ntfy; only pages claimed after it are skipped. Let such a call fail before ntfy recovers: then
            # every later attempt is claimed after the acknowledgement, and a recovered ntfy would take it.
            return any(c.status == 500 for c in world.ntfy.calls[acknowledged_at:]) or await settled()

        await eventually(past_claims_done, 10, "the attempts claimed before the acknowledgement")
        world.ntfy.recovered()
        await eventually(settled, 10, "the held-up push settled")
        (row,) = [r for r in await rows(db, incident_id) if r["channel"] == "ntfy"]
        assert row["external_ref"] == "skipped" and world.ntfy.messages == []
