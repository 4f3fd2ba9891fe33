"""Queries on the response template an incident was opened from and on its checklist."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from store.domain.templates import ChecklistItem


async def insert(
    conn: asyncpg.Connection, incident_id: int, template_id: str, runbooks: list[str], steps: list[str], now: datetime
) -> None:
    """Record the template and its checklist steps (numbered from 1) for the incident."""
    await conn.execute(
        "INSERT INTO incident_templates (incident_id, template_id, runbooks, applied_at) VALUES ($1, $2, $3, $4)",
        incident_id, template_id, runbooks, now,
    )
    if steps:
        await conn.execute(
            """
            INSERT INTO checklist_items (incident_id, position, text)
            SELECT $1, n, step FROM unnest($2::text[]) WITH ORDINALITY AS s(step, n)
            """,
            incident_id, steps,
        )


async def describe_if_empty(conn: asyncpg.Connection, incident_id: int, description: str) -> None:
    """Give the incident the template's description unless it has one."""
    await conn.execute(
        "UPDATE incidents SET description = $2 WHERE id = $1 AND description = ''", incident_id, description
    )


async def template_of(conn: asyncpg.Connection, incident_id: int) -> tuple[str, list[str]] | None:
    """(template id, runbook URLs) of the incident, or None when it was not opened from a template."""
    row = await conn.fetchrow("SELECT template_id, runbooks FROM incident_templates WHERE incident_id = $1",
                              incident_id)
    return (row["template_id"], list(row["runbooks"])) if row else None


def _item(row: asyncpg.Record) -> ChecklistItem:
    return ChecklistItem(row["position"], row["text"], row["done_at"], row["done_by"])


async def checklist(conn: asyncpg.Connection, incident_id: int) -> list[ChecklistItem]:
    """The incident's checklist in order."""
    rows = await conn.fetch(
        "SELECT * FROM checklist_items WHERE incident_id = $1 ORDER BY position", incident_id
    )
    return [_item(r) for r in rows]


async def checklists(conn: asyncpg.Connection, incident_ids: list[int]) -> dict[int, list[ChecklistItem]]:
    """The checklists of several incidents (for messages and lists)."""
    rows = await conn.fetch(
        "SELECT * FROM checklist_items WHERE incident_id = ANY($1::bigint[]) ORDER BY incident_id, position",
        incident_ids,
    )
    found: dict[int, list[ChecklistItem]] = {}
    for row in rows:
        found.setdefault(row["incident_id"], []).append(_item(row))
    return found


async def set_done(
    conn: asyncpg.Connection, incident_id: int, position: int, done: bool, who: str, now: datetime
) -> ChecklistItem | None:
    """Check or uncheck one step (locked by the update); None when the incident has no such step."""
    row = await conn.fetchrow(
        """
        UPDATE checklist_items
        SET done_at = CASE WHEN $3 THEN coalesce(done_at, $5) END,
            done_by = CASE WHEN $3 THEN coalesce(done_by, $4) END
        WHERE incident_id = $1 AND position = $2
        RETURNING *
        """,
        incident_id, position, done, who, now,
    )
    return _item(row) if row else None


async def step_count(conn: asyncpg.Connection, incident_id: int) -> int:
    """How many steps the incident's checklist has."""
    return await conn.fetchval("SELECT count(*) FROM checklist_items WHERE incident_id = $1", incident_id)
