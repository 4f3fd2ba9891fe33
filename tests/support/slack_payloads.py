"""Slack requests as Slack sends them, and a recording IncidentActions, for transport tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from store.domain.incident import ActionSource, Status
from store.domain.users import User
from store.models import Incident
from tests.support.incident_values import T0, make_incident

USERS = [User(id="alice", name="Alice Example", slack_id="U01ALICE"), User(id="bob", name="Bob")]


class RecordingActions:
    """The IncidentActions protocol, recording each call; `fail` makes the next call raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail: BaseException | None = None
        self.gate: asyncio.Event | None = None
        self.changed = asyncio.Event()

    async def _record(self, *call: Any) -> None:
        self.calls.append(call)
        self.changed.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail

    async def acknowledge(self, incident_id: int, actor: str, source: ActionSource) -> Incident:
        await self._record("acknowledge", incident_id, actor, source)
        return make_incident(id=incident_id, status=Status.ACKNOWLEDGED, acknowledged_by=actor, acknowledged_at=T0)

    async def resolve(self, incident_id: int, actor: str, source: ActionSource, note: str | None = None) -> Incident:
        await self._record("resolve", incident_id, actor, source, note)
        return make_incident(id=incident_id, status=Status.RESOLVED, resolved_by=actor, resolved_at=T0)

    async def silence(self, incident_id: int, duration_seconds: float, actor: str, source: ActionSource) -> None:
        await self._record("silence", incident_id, duration_seconds, actor, source)

    async def list_open(self) -> Sequence[Incident]:
        await self._record("list_open")
        return [make_incident(), make_incident(id=43, title="Disk full", severity="warning")]

    async def open_manual(self, title: str, actor: str, source: ActionSource) -> Incident:
        await self._record("open_manual", title, actor, source)
        return make_incident(id=44, title=title, alert_count=0, firing_alert_count=0)

    async def oncall_text(self) -> str:
        await self._record("oncall_text")
        return "*primary*: Alice Example until Mon 09:00"


def command_body(text: str, response_url: str, user: str = "U01ALICE", name: str = "alice.e") -> bytes:
    """A slash command as Slack posts it (form-encoded)."""
    fields = {
        "token": "deprecated-verification-token",
        "team_id": "T0TOCSIN",
        "channel_id": "C0OPS",
        "channel_name": "ops",
        "user_id": user,
        "user_name": name,
        "command": "/incident",
        "text": text,
        "response_url": response_url,
        "trigger_id": "123.456.abc",
        "api_app_id": "A0TOCSIN",
    }
    return urlencode(fields).encode()


def click_body(action_id: str, value: str, response_url: str, user: str = "U01ALICE") -> bytes:
    """A block_actions interaction as Slack posts it (form field `payload` holding JSON)."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TOCSIN", "domain": "tocsin-test"},
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": "T0TOCSIN"},
        "api_app_id": "A0TOCSIN",
        "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0OPS"},
        "trigger_id": "123.456.abc",
        "channel": {"id": "C0OPS", "name": "ops"},
        "message": {"ts": "1700000000.000100", "text": "[TRIGGERED] #42"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"incident-{value}",
                "value": value,
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "action_ts": "1700000001.000200",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
