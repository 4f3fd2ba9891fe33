"""A stand-in of PagerDuty's Events API v2 (POST /v2/enqueue) on 127.0.0.1.

It refuses what PagerDuty refuses (an unknown routing key, a wrong event_action, a trigger without summary, source
or a known severity: 400 with PagerDuty's body), keeps each alert's state by (routing key, dedup_key) as PagerDuty
does (a trigger opens or repeats, acknowledge and resolve change an open one), records every call, and can answer
429 or 500 for the next N calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.loopback import serve

SEVERITIES = ("critical", "error", "warning", "info")


@dataclass
class Call:
    """One event the stand-in received, and its answer's status."""

    body: Any
    status: int


@dataclass
class PagerDutyApi:
    """The stand-in; `events_url` is the value for PAGERDUTY_EVENTS_URL."""

    routing_keys: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    alerts: dict[tuple[str, str], str] = field(default_factory=dict)  # (routing key, dedup_key) -> status
    faults: list[int] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def events_url(self) -> str:
        """PAGERDUTY_EVENTS_URL for Tocsin."""
        return f"http://127.0.0.1:{self.port}/v2/enqueue"

    async def start(self) -> PagerDutyApi:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, count: int, status: int) -> None:
        """Answer the next `count` events with this status (429: rate limited; 500: PagerDuty's trouble)."""
        self.faults += [status] * count

    def accepted(self, action: str | None = None) -> list[dict[str, Any]]:
        """The events answered 202 (of one action, when given)."""
        return [c.body for c in self.calls if c.status == 202 and (action is None or c.body["event_action"] == action)]

    async def _enqueue(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        response = self._answer(body)
        self.calls.append(Call(body, response.status))
        return response

    def _answer(self, body: Any) -> web.Response:
        if self.faults:
            status = self.faults.pop(0)
            if status == 429:
                return web.json_response({"status": "throttle event", "message": "Requests for this service are "
                                          "arriving too quickly. Please retry later."}, status=429)
            return web.json_response({"status": "error", "message": "internal error"}, status=status)
        errors = _problems(body, self.routing_keys)
        if errors:
            return web.json_response({"status": "invalid event", "message": "Event object is invalid",
                                      "errors": errors}, status=400)
        key = (body["routing_key"], body["dedup_key"])
        action, current = body["event_action"], self.alerts.get(key)
        if action == "trigger" and current in (None, "resolved"):
            self.alerts[key] = "triggered"
        elif action == "acknowledge" and current == "triggered":
            self.alerts[key] = "acknowledged"
        elif action == "resolve" and current in ("triggered", "acknowledged"):
            self.alerts[key] = "resolved"
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]},
                                 status=202)


def _problems(body: Any, routing_keys: set[str]) -> list[str]:
    if not isinstance(body, dict):
        return ["Event object is not JSON"]
    errors = []
    if len(body.get("routing_key") or "") != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    elif body["routing_key"] not in routing_keys:
        errors.append("Invalid routing key")
    if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        errors.append("'event_action' is missing or blank")
    if not body.get("dedup_key"):
        errors.append("'dedup_key' is missing (Tocsin always sends one)")
    if body.get("event_action") == "trigger":
        payload = body.get("payload") or {}
        for name in ("summary", "source"):
            if not payload.get(name):
                errors.append(f"'payload.{name}' is missing or blank")
        if payload.get("severity") not in SEVERITIES:
            errors.append("'payload.severity' is invalid")
        if len(payload.get("summary") or "") > 1024:
            errors.append("'payload.summary' is too long")
    return errors
