"""The one-tap link page, GET and POST /act/{token}: a GET shows what the link would do and a button (it never
changes anything, so that a mail scanner or link preview opening it acts on nothing); the POST acts, as the
link's person through the channel that carried it. A changed, expired or used link is refused in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from quart import Blueprint, Response

from bot import present
from bot.actions import explain
from bot.paging.common import Paging
from store import page_actions
from store.domain.action_links import ACK, ActionLink, LinkRefused, verify
from store.domain.incident import Status
from store.domain.links import incident_url
from store.errors import Conflict, NotFound, StoreError, Unavailable
from store.incidents import get_incident
from store.models import Incident

ENV = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
                  autoescape=select_autoescape(("html",)))
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never hand it to another site
    "X-Robots-Tag": "noindex",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
}
REFUSED_STATUS = {"altered": 403, "expired": 410, "used": 410}
VERBS = {ACK: ("Acknowledge", "Acknowledged"), "resolve": ("Resolve", "Resolved")}


def page(http_status: int, heading: str, tone: str = "", **context: Any) -> Response:
    """The link page with these words."""
    html = ENV.get_template("act.html").render(heading=heading, tone=tone, **{
        "incident": None, "status": "", "person": None, "message": "", "confirm": None, "dashboard": None,
        "action": "", **context})
    return Response(html, status=http_status, content_type="text/html; charset=utf-8", headers=HEADERS)


def _still_to_do(action: str, incident: Incident) -> bool:
    if action == ACK:
        return incident.status is Status.TRIGGERED
    return incident.status is not Status.RESOLVED


class LinkPages:
    """GET and POST of /act/{token}."""

    def __init__(self, paging: Paging) -> None:
        self.paging = paging

    def _describe(self, link: ActionLink, incident: Incident) -> dict[str, Any]:
        names = {u.id: u.name for u in self.paging.users}
        return {"incident": incident, "status": present.status_line(incident, names), "action": link.action,
                "person": present.person(link.user_id, names),
                "dashboard": incident_url(self.paging.settings.public_url, incident.id)}

    def _verify(self, token: str) -> ActionLink:
        key = self.paging.settings.link_key
        if key is None:
            raise LinkRefused("altered", "One-tap links are off on this Tocsin (no ACTION_LINK_KEY).")
        link = verify(key, token, self.paging.now())
        if link.action not in VERBS:
            raise LinkRefused("altered", "This link does not acknowledge or resolve anything.")
        return link

    async def confirm(self, token: str) -> Response:
        """GET: what the link would do, with the button that does it."""
        try:
            link = self._verify(token)
            db = self.paging.runtime().db
            used = await page_actions.link_used_at(db, link.link_id)
            if used is not None:
                raise LinkRefused("used", f"This link was already used at {used:%Y-%m-%d %H:%M} UTC; each link "
                                          "acts once.")
            incident = await get_incident(db, link.incident_id)
        except (LinkRefused, StoreError) as exc:
            return self._refused(exc)
        verb, _ = VERBS[link.action]
        context = self._describe(link, incident)
        if not _still_to_do(link.action, incident):
            return page(200, f"Nothing to {verb.lower()}", message=f"#{incident.id} is {context['status']}.",
                        **context)
        return page(200, f"{verb} this incident?", confirm=f"{verb} #{incident.id}", **context)

    async def act(self, token: str) -> Response:
        """POST: carry the link's action out."""
        try:
            link = self._verify(token)
            runtime = self.paging.runtime()
            result = await page_actions.act_by_link(runtime.db, link, self.paging.now())
        except (LinkRefused, StoreError) as exc:
            return self._refused(exc)
        _, done = VERBS[link.action]
        channel = present.source_name(link.channel)
        return page(200, f"{done} #{result.incident.id}", "ok", message=f"Recorded as yours, via {channel}.",
                    **self._describe(link, result.incident))

    def _refused(self, exc: Exception) -> Response:
        if isinstance(exc, LinkRefused):
            return page(REFUSED_STATUS.get(exc.reason, 403), "This link cannot be used", "refused", message=str(exc))
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else \
            503 if isinstance(exc, Unavailable) else 500
        return page(status, "Nothing was done", "refused", message=explain(exc, "act on the incident"))


def links_blueprint(pages: LinkPages) -> Blueprint:
    """GET and POST /act/{token}."""
    blueprint = Blueprint("action_links", __name__)

    @blueprint.get("/act/<token>")
    async def confirm_action(token: str) -> Response:
        return await pages.confirm(token)

    @blueprint.post("/act/<token>")
    async def take_action(token: str) -> Response:
        return await pages.act(token)

    return blueprint
