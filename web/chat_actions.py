"""The incident actions Slack and Telegram call, bound to the store's services (one adapter for both bots).

The database is read lazily from app.extensions["tocsin"]: the bots are built with the app, the pool
opens only when serving starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TypeVar

from quart import Quart

from store import lifecycle, postmortems, templates
from store.domain.delivery import channels_for
from store.domain.incident import ActionSource, Status
from store.domain.oncall_view import oncall_text
from store.domain.templates import ChecklistItem
from store.errors import ApiError
from store.models import Incident
from store.runtime import UNAVAILABLE, Runtime, unavailable_error
from store.sql import listing
from web.silence import silence_incident

T = TypeVar("T")
LIST_LIMIT = 50  # per status; chat lists are short


class ChatActions:
    """Implements bot.slack.handlers.IncidentActions and bot.telegram.handlers.IncidentActions."""

    def __init__(self, app: Quart, alertmanager_url: str | None = None, public_url: str = "") -> None:
        self.app = app
        self.alertmanager_url = alertmanager_url
        self.public_url = public_url

    @property
    def runtime(self) -> Runtime:
        """The serving app's runtime; 503 before serving started or after it stopped."""
        runtime = self.app.extensions.get("tocsin")
        if runtime is None:
            raise ApiError(503, "unavailable", "Tocsin is starting or stopping; try again in a moment")
        return runtime

    @staticmethod
    def storable(text: str) -> str:
        """Chat text as PostgreSQL can store it: U+0000 (which text columns refuse) shown as U+FFFD."""
        return text.replace("\x00", "\ufffd")

    async def _guard(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except UNAVAILABLE as exc:
            raise unavailable_error(exc) from None

    async def acknowledge(self, incident_id: int, actor: str, source: ActionSource) -> Incident:
        """Acknowledge; 409 (ApiError) names who resolved or acknowledged it and when."""
        call = lifecycle.acknowledge(self.runtime.db, incident_id, self.storable(actor), source)
        result = await self._guard(call)
        return result.incident

    async def resolve(self, incident_id: int, actor: str, source: ActionSource, note: str | None = None) -> Incident:
        """Resolve, with an optional note."""
        note = self.storable(note) if note is not None else None
        call = lifecycle.resolve(self.runtime.db, incident_id, self.storable(actor), source, note)
        result = await self._guard(call)
        return result.incident

    async def silence(self, incident_id: int, duration_seconds: float, actor: str, source: ActionSource) -> Incident:
        """An Alertmanager silence of the incident's firing alerts, recorded on its timeline."""
        db = self.runtime.db
        call = silence_incident(db, self.alertmanager_url, incident_id, duration_seconds, self.storable(actor), source)
        result = await self._guard(call)
        return result.incident

    async def open_manual(self, title: str, actor: str, source: ActionSource) -> Incident:
        """Open an incident by hand on the default route's channels."""
        runtime = self.runtime
        routes = runtime.routes
        call = lifecycle.open_manual(
            runtime.db,
            self.storable(title),
            "warning",
            "",
            self.storable(actor),
            source,
            channels=channels_for(routes.default, routes.default),
        )
        return (await self._guard(call)).incident

    async def open_from_template(
        self, template_id: str, title: str | None, actor: str, source: ActionSource
    ) -> Incident:
        """Open an incident from a response template (its route's channels, escalation and SLA; its checklist)."""
        runtime = self.runtime
        title = self.storable(title) if title else None
        call = lifecycle.open_incident(runtime.db, runtime.config, template_id, title, None, None,
                                       self.storable(actor), source)
        return (await self._guard(call)).incident

    async def check_step(
        self, incident_id: int, step: int, done: bool, actor: str, source: ActionSource
    ) -> ChecklistItem:
        """Check or uncheck one step of the incident's checklist; who and when go on the timeline."""
        call = templates.check(self.runtime.db, incident_id, step, done, self.storable(actor), source)
        item, _ = await self._guard(call)
        return item

    async def postmortem_link(self, incident_id: int) -> str:
        """The dashboard page of a resolved incident's post-mortem; 404 when unknown, 409 while it is open."""
        await self._guard(postmortems.check_reviewable(self.runtime.db, incident_id))
        return f"{self.public_url.rstrip('/')}/incidents/{incident_id}/postmortem"

    async def list_open(self) -> Sequence[Incident]:
        """Triggered incidents first, then acknowledged ones, newest first within each."""
        return await self._guard(self._list_open())

    async def _list_open(self) -> list[Incident]:
        found: list[Incident] = []
        async with self.runtime.db.connection() as conn:
            for status in (Status.TRIGGERED, Status.ACKNOWLEDGED):
                filters = listing.IncidentFilter(status=status.value)
                page = await listing.list_incidents(conn, filters, "-created_at", LIST_LIMIT, None)
                found += page.items
        return found

    async def oncall_text(self) -> str:
        """Who is on call now, in every schedule of the config."""
        runtime = self.runtime
        return oncall_text(runtime.config, runtime.clock())
