"""Alerts from other senders, through the same intake as Alertmanager's: Grafana Alerting's webhook contact point
(POST /api/v1/webhooks/grafana) and PagerDuty's Events API v2 (POST /api/v1/events/v2/enqueue and /v2/enqueue),
answered as PagerDuty answers, so that any tool set up for PagerDuty can page Tocsin by changing its URL."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from quart import Blueprint, current_app, request

from store import alert_lookup, lifecycle
from store.domain.alerts import AlertSignal
from store.domain.incident import ActionSource
from store.domain.outgoing import Integration, integration_for
from store.errors import UNAVAILABLE, ApiError, Conflict, NotFound, StoreError, http_error
from store.models import Alert
from store.runtime import Runtime, unavailable_error
from store.throttle import auth_check, auth_failed
from webhook.grafana import parse_grafana
from webhook.pagerduty import Event, InvalidEvent, fingerprint, parse_event, resolve_batch, trigger_batch
from webhook.routes import Sender, _decode, _read_body, sender_view, store_batch
from webhook.settings import WebhookSettings

log = logging.getLogger(__name__)
GRAFANA_HINT = ("Grafana must send 'Authorization: Bearer <WEBHOOK_TOKEN>' (the contact point's Optional Webhook "
                "settings: Authorization Header - Credentials)")
INVALID = "Event object is invalid"
GRAFANA = Sender("/api/v1/webhooks/grafana", parse_grafana, GRAFANA_HINT)
UNKNOWN_KEY = ("'routing_key' does not match any integration (integrations[].routing_key in Tocsin's config file)")
Answer = tuple[dict[str, Any], int, dict[str, str]]


def _pagerduty_answer(status: int, message: str, errors: list[str], headers: dict[str, str] | None = None) -> Answer:
    """PagerDuty's answer shape: {"status", "message", "errors"}."""
    state = "invalid event" if status == 400 else "error"
    return {"status": state, "message": message, "errors": errors}, status, headers or {}


def _refusal(error: ApiError) -> Answer:
    """Our error (413, invalid JSON, 503 overloaded or database away) in PagerDuty's shape, with its status."""
    details = [str(d.get("message", d)) for d in error.details] if error.details else []
    message = INVALID if error.status == 400 else error.message
    return _pagerduty_answer(error.status, message, [error.message, *details], error.headers)


async def _latest(runtime: Runtime, alert_fingerprint: str) -> Alert | None:
    try:
        return await alert_lookup.latest_instance(runtime.db, alert_fingerprint)
    except UNAVAILABLE as exc:
        raise unavailable_error(exc) from None


def _signal(alert: Alert) -> AlertSignal:
    return AlertSignal(alert.fingerprint, alert.status, alert.starts_at, alert.ends_at, alert.labels,
                       alert.annotations, alert.generator_url)


async def _acknowledge(runtime: Runtime, stored: Alert | None, integration: Integration) -> None:
    """Acknowledge the incident of the key's alert through the lifecycle; already acknowledged or resolved
    (or no such alert) is fine, as it is for PagerDuty."""
    if stored is None:
        return
    try:
        await lifecycle.acknowledge(runtime.db, stored.incident_id, integration.id, ActionSource.PAGERDUTY)
    except (Conflict, NotFound) as exc:
        log.info("acknowledge event of %s changed nothing: %s", integration.id, exc.message)


async def _act(runtime: Runtime, event: Event, integration: Integration, settings: WebhookSettings) -> str:
    """Trigger, resolve or acknowledge; the dedup key (a new one for a trigger without)."""
    dedup_key = event.dedup_key or uuid.uuid4().hex
    stored = await _latest(runtime, fingerprint(integration, dedup_key))
    firing = stored if stored is not None and stored.status == "firing" else None
    now = runtime.clock()
    if event.action == "trigger":
        # A repeat keeps the firing alert's start (its identity); a new alert starts on the whole second, so
        # that the same trigger sent twice at once is one alert.
        starts_at = firing.starts_at if firing is not None else now.replace(microsecond=0)
        await store_batch(trigger_batch(event, integration, dedup_key, starts_at), settings)
    elif event.action == "resolve" and firing is not None:
        await store_batch(resolve_batch(_signal(firing), integration, now), settings)
    elif event.action == "acknowledge":
        await _acknowledge(runtime, stored, integration)
    return dedup_key


async def _enqueue(settings: WebhookSettings) -> Answer:
    runtime: Runtime = current_app.extensions["tocsin"]
    auth_check(current_app.extensions, request)  # a client that guessed routing keys too often: 429
    body = _decode(await _read_body(settings, any_type=True))  # PagerDuty takes any content type, so Tocsin does
    try:
        event = parse_event(body)
    except InvalidEvent as exc:
        return _pagerduty_answer(400, INVALID, exc.errors)
    integration = integration_for(runtime.config.integrations, event.routing_key)
    if integration is None:
        log.info("PagerDuty-style event with an unknown routing key refused")
        await auth_failed(current_app.extensions, request, "events")
        return _pagerduty_answer(400, INVALID, [UNKNOWN_KEY])
    try:
        dedup_key = await _act(runtime, event, integration, settings)
    except StoreError as exc:
        return _refusal(http_error(exc))
    return {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, 202, {}


def create_blueprint(settings: WebhookSettings) -> Blueprint:
    """Grafana's webhook and PagerDuty's Events API v2, reading the runtime from app.extensions['tocsin']."""
    bp = Blueprint("integrations_in", __name__)

    bp.add_url_rule(GRAFANA.path, "grafana_webhook", sender_view(settings, GRAFANA), methods=["POST"])

    async def enqueue() -> Answer:
        try:
            return await _enqueue(settings)
        except ApiError as error:
            return _refusal(error)

    bp.add_url_rule("/api/v1/events/v2/enqueue", "pagerduty_enqueue", enqueue, methods=["POST"])
    bp.add_url_rule("/v2/enqueue", "pagerduty_enqueue_short", enqueue, methods=["POST"])
    return bp
