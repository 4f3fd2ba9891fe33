"""Slack requests as Slack sends them, and the config users they map to, for transport tests."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from store.domain.users import User

USERS = [User(id="alice", name="Alice Example", slack_id="U01ALICE"), User(id="bob", name="Bob")]


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
