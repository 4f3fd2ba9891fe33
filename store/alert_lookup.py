"""Reading one alert by its fingerprint, for senders that name alerts by their own key (PagerDuty's dedup_key)."""

from __future__ import annotations

from store.db import Database
from store.models import Alert
from store.sql import alerts as alerts_sql


async def latest_instance(db: Database, fingerprint: str) -> Alert | None:
    """The fingerprint's newest instance (firing or resolved), or None when it was never seen."""
    async with db.connection() as conn:
        return await alerts_sql.latest_instance(conn, fingerprint)
