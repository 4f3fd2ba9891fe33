"""API token roles and hashing (pure): only the SHA-256 of a token is ever stored."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

TOKEN_PREFIX = "tocsin_"  # noqa: S105 - the public prefix of every token, not a secret


class Role(StrEnum):
    """What a token may do: viewers read, responders and admins also act."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"


ROLE_RANK: dict[Role, int] = {Role.VIEWER: 1, Role.RESPONDER: 2, Role.ADMIN: 3}


def role_allows(role: Role, needed: Role) -> bool:
    """True when `role` is at least `needed`."""
    return ROLE_RANK[role] >= ROLE_RANK[needed]


def new_token() -> str:
    """A fresh random token (256 bits), shown once to whoever creates it."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token: what the database keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def actor_of(name: str, user_id: str | None) -> str:
    """Who a token's actions are recorded as: its user, else token:NAME."""
    return user_id if user_id else f"token:{name}"
