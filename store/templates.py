"""The response template service: apply a template to an incident as it opens, and check its checklist's steps.

Opening an incident from a template goes through lifecycle.open_manual; alerts whose route names a template
get it in the ingest transaction (`apply`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from store.db import Database
from store.domain.config_schema import Config
from store.domain.delivery import channels_for
from store.domain.incident import ActionSource
from store.domain.templates import ChecklistItem, Template, checklist_message
from store.errors import Invalid, NotFound
from store.models import Event, NewEvent
from store.sql import incidents as incidents_sql
from store.sql import templates as templates_sql
from store.timeline import EventKind, record


async def apply(
    conn: asyncpg.Connection, incident_id: int, template: Template, actor: str, source: str, now: datetime
) -> NewEvent:
    """Store the template's checklist and runbooks with the new incident; the timeline entry to record with it."""
    await templates_sql.insert(conn, incident_id, template.id, list(template.runbooks), list(template.checklist), now)
    if template.description:
        await templates_sql.describe_if_empty(conn, incident_id, template.description)
    data = {"template": template.id, "steps": len(template.checklist)}
    return NewEvent(incident_id, EventKind.TEMPLATE_APPLIED, actor, source, template.summary(), data)


def missing_step(incident_id: int, index: int, count: int) -> NotFound:
    """The not-found error of a checklist step that does not exist, naming the field."""
    has = f"has {count} checklist step{'s' if count != 1 else ''}" if count else "has no checklist"
    return NotFound(f"index {index}: incident #{incident_id} {has}",
                    [{"field": "index", "message": f"expected a step number from 1 to {count}" if count else
                      "this incident has no checklist"}])


async def check(
    db: Database,
    incident_id: int,
    index: int,
    done: bool,
    actor: str,
    source: ActionSource,
    *,
    now: datetime | None = None,
) -> tuple[ChecklistItem, list[Event]]:
    """Check (done) or uncheck step `index` (from 1); who and when go on the timeline. No change, no entry."""
    when = now or datetime.now(UTC)
    async with db.transaction() as conn:
        try:
            await incidents_sql.get(conn, incident_id, for_update=True)
        except incidents_sql.NotFound:
            raise NotFound.incident(incident_id) from None
        before = {item.index: item for item in await templates_sql.checklist(conn, incident_id)}
        if index not in before:
            raise missing_step(incident_id, index, len(before))
        if before[index].done == done:
            return before[index], []
        item = await templates_sql.set_done(conn, incident_id, index, done, actor, when)
        if item is None:  # the step was read under the incident's lock just now
            raise missing_step(incident_id, index, len(before))
        await incidents_sql.touch(conn, incident_id, when)
        data = {"index": index, "text": item.text, "done": done}
        events = await record(conn, [NewEvent(incident_id, EventKind.CHECKLIST, actor, source.value,
                                              checklist_message(item.text, index, done, actor), data)])
    return item, events


@dataclass(frozen=True, slots=True)
class Opening:
    """How an incident opened by hand starts: from the request and, when named, a response template."""

    title: str
    severity: str
    description: str
    route_id: str
    channels: dict[str, Any]
    escalation: str | None
    template: Template | None


def opening(
    config: Config, template_id: str | None, title: str | None, severity: str | None, description: str | None
) -> Opening:
    """Fill what the request leaves out from the template; Invalid naming the field for an unknown template or no
    title. The template's route gives the channels, escalation and SLA (the default route without one)."""
    template = None
    if template_id is not None:
        template = config.template(template_id)
        if template is None:
            known = ", ".join(t.id for t in config.templates) or "none are configured"
            raise Invalid("template", f"{template_id!r}: unknown template; expected one of: {known}")
    title = title if title is not None else (template.title if template else None)
    if title is None or not title.strip():
        raise Invalid("title", "required unless a template gives one")
    routes = config.routes
    route = routes.by_id(template.route) if template and template.route else routes.default
    severity = severity or (template.severity if template else "warning")
    return Opening(
        title=title.strip(),
        severity=severity,
        description=description if description is not None else "",
        route_id=route.id,
        channels=channels_for(route, routes.default, {"severity": severity}, routes.webhooks),
        escalation=(template.escalation if template else None) or (route.escalation if template else None),
        template=template,
    )
