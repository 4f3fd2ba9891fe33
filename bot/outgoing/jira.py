"""Jira out: a route's incidents each get a Jira issue (project, issue type, fields from templates); acknowledge,
resolve and reopen are commented there, resolve moves the issue along its transition (and reopen, when the route
names one). The issue's key and link are recorded on the incident, so every chat, mail and the dashboard show it.

Each issue carries the label `tocsin-ID`: if the process dies between creating the issue and recording it, the
retry finds the issue by that label instead of opening a second one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.delivery import SendResult, ServiceError
from bot.outgoing.http import GIVE_UP_NOW
from bot.outgoing.jira_api import JiraApi, Transition
from bot.present import event_line
from store import deliveries, tickets
from store.db import Database
from store.domain.incident import ActionSource, Status
from store.domain.jinja_templates import TemplateFailed, render
from store.domain.outgoing import JIRA, STATUS_EVENTS, JiraTarget
from store.domain.routing import RouteTable
from store.errors import StoreError
from store.models import Delivery, Event, Incident

log = logging.getLogger(__name__)
Shape = Callable[[Any], dict[str, Any]]
MAX_SUMMARY = 255  # Jira refuses longer summaries
DEFAULT_SUMMARY = "[{{ incident.severity | upper }}] #{{ incident.id }} {{ incident.title }}"
DEFAULT_DESCRIPTION = """{{ incident.summary or incident.title }}

*Severity:* {{ incident.severity }}
*Labels:* {% for name, value in incident.labels | dictsort %}{{ name }}={{ value }}{% if not loop.last %}, {% endif %}\
{% endfor %}
*Tocsin:* [#{{ incident.id }}|{{ incident.url }}]
{% for name, url in incident.links | dictsort %}*{{ name }}:* {{ url }}
{% endfor %}"""
FOLLOWED = ("acknowledged", "resolved", "reopened")


def label(incident: Incident) -> str:
    """The label that finds the incident's issue again."""
    return f"tocsin-{incident.id}"


def _value(text: str) -> Any:
    """A rendered field template: its JSON value when it is JSON (an object, a list), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def issue_fields(target: JiraTarget, context: Mapping[str, Any], incident: Incident) -> dict[str, Any]:
    """The new issue's fields, from the route's templates (TemplateFailed when one cannot be rendered)."""
    summary = " ".join(render(target.summary or DEFAULT_SUMMARY, context).split())[:MAX_SUMMARY]
    issue_type = {"id": target.issue_type} if target.issue_type.isdigit() else {"name": target.issue_type}
    fields: dict[str, Any] = {name: _value(render(text, context)) for name, text in target.fields.items()}
    fields.update(project={"key": target.project}, issuetype=issue_type, summary=summary,
                  description=render(target.description or DEFAULT_DESCRIPTION, context))
    labels = fields.get("labels")
    fields["labels"] = [*(labels if isinstance(labels, list) else []), "tocsin", label(incident)]
    return fields


def transition_named(found: Sequence[Transition], name: str) -> Transition | None:
    """The transition of this name, or leading to a status of this name (either without regard to case)."""
    wanted = name.casefold()
    return next((t for t in found if t.name.casefold() == wanted), None) or next(
        (t for t in found if t.to.casefold() == wanted), None)


class JiraChannel:
    """The delivery channel: the incident's route names the Jira project and how its issues are made."""

    name = JIRA

    def __init__(self, db: Database, api: JiraApi, routes: Callable[[], RouteTable], incident_json: Shape,
                 event_json: Shape, names: Mapping[str, str] | None = None) -> None:
        self.db = db
        self.api = api
        self.routes = routes
        self.incident_json = incident_json
        self.event_json = event_json
        self.names: Mapping[str, str] = names if names is not None else {}  # live: follows config versions

    async def send(self, delivery: Delivery, incident: Incident, recent_events: Sequence[Event]) -> SendResult:
        """Open the issue (kind open) and tell it the changes since; never raises for Jira's failures."""
        route = self.routes().by_id(delivery.target)
        if route.id != delivery.target or route.jira is None:
            return SendResult(False, retry_after=GIVE_UP_NOW, error=f"route {delivery.target} no longer opens Jira "
                              "issues (routes[].jira)")
        try:
            events = await deliveries.events_of(self.db, delivery, sorted(STATUS_EVENTS))
            if delivery.kind == "open":
                key = await self._open(delivery, incident, route.jira, events)
            elif delivery.external_ref:
                key = delivery.external_ref
            else:
                return SendResult(False, error="no Jira issue to update: the incident's issue was never recorded")
            await self._follow(key, incident, route.jira, [e for e in events if e.kind in FOLLOWED])
        except TemplateFailed as exc:
            return SendResult(False, retry_after=GIVE_UP_NOW, error=f"a template of route {route.id}'s jira: {exc}")
        except ServiceError as exc:
            return exc.result()
        except StoreError as exc:  # the database is away: the retry finds the issue by its label
            return SendResult(False, error=f"recording the Jira issue: {exc.message}")
        return SendResult(True, external_ref=key)

    async def _open(self, delivery: Delivery, incident: Incident, target: JiraTarget, events: list[Event]) -> str:
        """The incident's issue: found by its label on a retry, else created; recorded on the incident."""
        key = await self.api.find_by_label(target.project, label(incident)) if delivery.attempts > 1 else None
        if key is None:
            first = events[0] if events else None
            context = {"incident": self.incident_json(incident),
                       "event": self.event_json(first) if first else {"kind": delivery.event_kind}}
            key = await self.api.create_issue(issue_fields(target, context, incident))
        url = self.api.settings.browse_url(key)
        await tickets.attach(self.db, incident.id, JIRA, key, url, ActionSource.JIRA)
        return key

    async def _follow(self, key: str, incident: Incident, target: JiraTarget, events: list[Event]) -> None:
        """Move the issue as the incident moved, then comment with what happened."""
        if not events:
            return
        kinds = {e.kind for e in events}
        note = ""
        if "resolved" in kinds and incident.status is Status.RESOLVED:
            note = await self._move(key, target.resolve_transition, want_done=True)
        elif "reopened" in kinds and incident.status is not Status.RESOLVED and target.reopen_transition:
            note = await self._move(key, target.reopen_transition, want_done=False)
        lines = [event_line(e, self.names) for e in events]
        text = "\n".join(lines) + (f"\n\n{note}" if note else "") + f"\n\n[Tocsin incident #{incident.id}|" \
            f"{self.incident_json(incident)['url']}]"
        await self.api.add_comment(key, text)

    async def _move(self, key: str, name: str, want_done: bool) -> str:
        """Take the transition unless the issue is already where it leads; a note when it cannot be taken."""
        status, category = await self.api.status(key)
        if (category == "done") == want_done:
            return ""
        found = await self.api.transitions(key)
        transition = transition_named(found, name)
        if transition is None:
            names = ", ".join(t.name for t in found) or "none"
            log.warning("Jira issue %s: no transition %r from status %r (available: %s)", key, name, status, names)
            return f"(Tocsin could not move the issue: no transition {name!r} from {status!r}; available: {names})"
        await self.api.transition(key, transition.id)
        return ""
