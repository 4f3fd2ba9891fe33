"""One-tap action links: signed, expiring tokens bound to an incident, an action and a person (pure).

A token is `PAYLOAD.MAC`, both base64url: PAYLOAD is `incident|action|user|channel|expires|nonce`, MAC the
first 16 bytes of HMAC-SHA256 under ACTION_LINK_KEY. The nonce is the link's id: the store records it when
the link is used, so a link acts once. Nothing in the token is secret; changing any of it breaks the MAC.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ACK, RESOLVE, CALL = "ack", "resolve", "call"
ACTIONS = (ACK, RESOLVE, CALL)  # CALL: a phone call's menu (press 1, 2 or 3), not a link people see
ACTION_WORDS = {ACK: "Acknowledge", RESOLVE: "Resolve", CALL: "Answer the call"}
LIFETIME = timedelta(hours=24)
MAC_BYTES = 16
DOMAIN = b"tocsin-action-link-v1|"
MAX_TOKEN = 600
MIN_KEY = 32


class LinkRefused(ValueError):
    """A token that must not act: `reason` is altered, expired (or, from the store, used)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ActionLink:
    """What a valid token says: who may do what to which incident, through which channel, until when."""

    incident_id: int
    action: str
    user_id: str
    channel: str
    expires_at: datetime
    link_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, payload: bytes) -> bytes:
    return hmac.new(key.encode(), DOMAIN + payload, hashlib.sha256).digest()[:MAC_BYTES]


def sign(key: str, incident_id: int, action: str, user_id: str, channel: str, now: datetime,
         lifetime: timedelta = LIFETIME, nonce: str | None = None) -> str:
    """A new token (a fresh nonce unless one is given)."""
    if action not in ACTIONS:
        raise ValueError(f"action {action!r}: expected one of {', '.join(ACTIONS)}")
    if "|" in user_id or "|" in channel:
        raise ValueError("a user id or channel with '|' cannot be carried in a link")
    expires = int((now + lifetime).timestamp())
    link_id = nonce or _b64(secrets.token_bytes(12))
    payload = f"{incident_id}|{action}|{user_id}|{channel}|{expires}|{link_id}".encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify(key: str, token: str, now: datetime) -> ActionLink:
    """What the token says, or LinkRefused: altered (bad form or MAC) or expired."""
    altered = LinkRefused("altered", "This link is not valid: it was changed or cut short. Open the link from "
                                     "the message again, or act in Tocsin.")
    body, _, mac_text = token.partition(".")
    if not body or not mac_text or len(token) > MAX_TOKEN:
        raise altered
    try:
        payload, mac = _unb64(body), _unb64(mac_text)
    except (binascii.Error, ValueError):
        raise altered from None
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise altered
    try:
        incident, action, user_id, channel, expires, link_id = payload.decode().split("|")
        link = ActionLink(int(incident), action, user_id, channel, datetime.fromtimestamp(int(expires), UTC), link_id)
    except (UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise altered from None
    if link.action not in ACTIONS:
        raise altered
    if link.expires_at <= now:
        raise LinkRefused("expired", f"This link expired at {link.expires_at:%Y-%m-%d %H:%M} UTC; act in Tocsin or "
                                     "from a newer message instead.")
    return link


def link_url(public_url: str, token: str) -> str:
    """The page of a token: PUBLIC_URL/act/TOKEN."""
    return f"{public_url.rstrip('/')}/act/{token}"
