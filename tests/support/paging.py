"""A config whose people page by notification rules (push, SMS, voice), a hand-moved clock, and the keys and
numbers the paging tests share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from store.db import Database
from store.domain.config_schema import Config, parse_config
from store.ingest import ingest_batch
from tests.support.incidents import firing_body
from webhook.alertmanager import parse_webhook

T0 = datetime(2026, 11, 26, 19, 3, tzinfo=UTC)
LINK_KEY = "paging-tests-action-link-key-0123456789abcdef"
ALICE_PHONE = "+4915112345678"
BOB_PHONE = "+4915187654321"
ALICE_TOPIC = "tocsin-alice-7f3k"
ALICE_PUSHOVER = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
BOB_PUSHOVER = "gznej3rKEVAvPUxu9vvNnqpmZpokzF"


def config_data(rules: list[dict[str, Any]] | None = None, **policy: Any) -> dict[str, Any]:
    """alice pages by rules (push at 0m, SMS at 1m, voice at 5m unless given); bob has every contact and no rules;
    the policy pages alice at 0m and bob at 10m."""
    return {
        "users": [
            {"id": "alice", "name": "Alice Example", "email": "alice@example.com", "slack_id": "U01ALICE",
             "phone": ALICE_PHONE, "ntfy_topic": ALICE_TOPIC, "pushover_user": ALICE_PUSHOVER,
             "notification_rules": rules if rules is not None else [
                 {"method": "push", "after": "0m"}, {"method": "sms", "after": "1m"},
                 {"method": "voice", "after": "5m"}]},
            {"id": "bob", "name": "Bob Example", "email": "bob@example.com", "slack_id": "U01BOB",
             "phone": BOB_PHONE, "pushover_user": BOB_PUSHOVER},
        ],
        "escalation_policies": [{"id": "page", "steps": policy.get("steps") or [
            {"after": "0m", "notify": ["user:alice"]}, {"after": "10m", "notify": ["user:bob"]}]}],
        "routes": [{"id": "all", "escalation": "page"}],
    }


def make_config(rules: list[dict[str, Any]] | None = None, **policy: Any) -> Config:
    """The paging config, checked by the real loader."""
    return parse_config(config_data(rules, **policy))


async def open_paged_incident(db: Database, config: Config, group: str = "g1", when: datetime = T0,
                              severity: str = "critical") -> int:
    """A firing alert routed to the paging policy; the incident's id."""
    body = firing_body(group, labels={"severity": severity})
    result = await ingest_batch(db, parse_webhook(body), config.routes, lambda: when)
    return result.incident_ids[0]


async def streams(db: Database, incident_id: int) -> list[tuple[str, str]]:
    """(channel, target) of the incident's messages, in the order they were queued (one per message row)."""
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT channel, target FROM deliveries WHERE incident_id = $1 ORDER BY id",
                                incident_id)
    return [(r["channel"], r["target"]) for r in rows]
