"""Secrets every replica shares without a setting: made at random by the first replica that needs one."""

from __future__ import annotations

import secrets

from store.db import Database
from store.sql import secrets as secrets_sql

SESSION_KEY = "dashboard_session_key"


async def shared_secret(db: Database, name: str) -> str:
    """The secret named `name` (256 random bits, made once and kept in PostgreSQL)."""
    async with db.transaction() as conn:
        return await secrets_sql.get_or_create(conn, name, secrets.token_urlsafe(32))
