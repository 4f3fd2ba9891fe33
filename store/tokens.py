"""The API token service: create (the token is returned once), list, revoke, authenticate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from store.db import Database
from store.domain.tokens import Role, actor_of, hash_token, new_token
from store.errors import Conflict, Invalid, NotFound
from store.sql import audit as audit_sql
from store.sql import tokens as tokens_sql
from store.sql.tokens import ApiToken

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
USED_EVERY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's name and role, and the actor its actions are recorded as."""

    name: str
    role: Role
    actor: str

    @property
    def user_id(self) -> str | None:
        """The config user the caller acts as (a token made with --user), else None."""
        return None if self.actor.startswith(("token:", "sso:", "anonymous")) else self.actor


def _now() -> datetime:
    return datetime.now(UTC)


async def create_token(
    db: Database, name: str, role: str, user_id: str | None = None, actor: str = "cli", source: str = "cli"
) -> tuple[ApiToken, str]:
    """Store a new token's hash and return the token itself (the only time it is seen); on the audit trail."""
    if not NAME.match(name):
        raise Invalid("name", f"{name!r} is no token name: expected 1-64 letters, digits, '.', '_' or '-'",
                      "invalid_name")
    try:
        parsed_role = Role(role)
    except ValueError:
        raise Invalid("role", f"{role!r}: expected viewer, responder or admin", "invalid_role") from None
    if user_id is not None and not user_id.strip():
        raise Invalid("user", "expected a non-empty user id", "invalid_user")
    token = new_token()
    async with db.transaction() as conn:
        stored = await tokens_sql.insert(conn, name, parsed_role, user_id, hash_token(token), _now())
        if stored is not None:
            data = {"role": parsed_role.value, "user": user_id}
            await audit_sql.insert(conn, actor, source, "token.create", f"token:{name}", data, stored.created_at)
    if stored is None:
        raise Conflict(f"a token named {name!r} already exists", [{"field": "name"}], "name_taken")
    return stored, token


async def list_tokens(db: Database) -> list[ApiToken]:
    """Every token (never the secret)."""
    async with db.connection() as conn:
        return await tokens_sql.list_all(conn)


async def revoke_token(db: Database, name: str, actor: str = "cli", source: str = "cli") -> ApiToken:
    """Revoke a token by name; it stops working at once; on the audit trail."""
    async with db.transaction() as conn:
        token = await tokens_sql.revoke(conn, name, _now())
        if token is not None:
            await audit_sql.insert(conn, actor, source, "token.revoke", f"token:{name}", {}, _now())
    if token is None:
        raise NotFound(f"no token is named {name!r}")
    return token


async def authenticate(db: Database, token: str) -> Principal | None:
    """The principal of a live token, or None for an unknown or revoked one."""
    async with db.connection(stateless=True) as conn:
        stored = await tokens_sql.find_by_hash(conn, hash_token(token))
        if stored is None or stored.revoked_at is not None:
            return None
        now = _now()
        if stored.last_used_at is None or (now - stored.last_used_at).total_seconds() > USED_EVERY_SECONDS:
            await tokens_sql.mark_used(conn, stored.id, now, USED_EVERY_SECONDS)
    return Principal(stored.name, stored.role, actor_of(stored.name, stored.user_id))
