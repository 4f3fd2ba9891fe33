"""Prometheus metrics (`tocsin_*`): webhooks, alerts, open incidents, time to acknowledge/resolve, HTTP timing."""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from quart import Blueprint, Quart, Response, g, request

from store import lifecycle
from store.domain.incident import SEVERITIES
from store.runtime import UNAVAILABLE, Runtime
from store.sql import stats as stats_sql

log = logging.getLogger(__name__)
WEBHOOK_ENDPOINT = "webhook.alertmanager_webhook"
OPEN_STATUSES = ("triggered", "acknowledged")
RESPONSE_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200)
REFRESH_SECONDS = 10.0


def webhook_outcome(status: int) -> str:
    """How a webhook post ended, from its HTTP status."""
    if status < 300:
        return "accepted"
    if status in (401, 403):
        return "unauthorized"
    if status < 500:
        return "rejected"
    return "failed"


class Metrics:
    """The metrics of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.webhooks = Counter("tocsin_webhooks_received", "Alertmanager webhooks received, by outcome",
                                ["outcome"], registry=r)
        self.alerts = Counter("tocsin_alerts_ingested", "Alerts stored from webhooks (repeats included)", registry=r)
        self.open_incidents = Gauge("tocsin_open_incidents", "Incidents not resolved, by status and severity",
                                    ["status", "severity"], registry=r)
        self.tta = Histogram("tocsin_time_to_acknowledge_seconds", "From (re)trigger to acknowledge",
                             buckets=RESPONSE_BUCKETS, registry=r)
        self.ttr = Histogram("tocsin_time_to_resolve_seconds", "From (re)trigger to a resolve by a person",
                             buckets=RESPONSE_BUCKETS, registry=r)
        self.http = Histogram("tocsin_http_request_duration_seconds", "HTTP request duration by route and status",
                              ["method", "route", "status"], registry=r)
        self._refreshed_at = float("-inf")

    def observe_action(self, result: lifecycle.ActionResult) -> None:
        """Record time to acknowledge or resolve of a committed lifecycle action."""
        incident = result.incident
        if result.action == "acknowledge" and incident.acknowledged_at:
            self.tta.observe(max(0.0, (incident.acknowledged_at - incident.triggered_at).total_seconds()))
        elif result.action == "resolve" and incident.resolved_at:
            self.ttr.observe(max(0.0, (incident.resolved_at - incident.triggered_at).total_seconds()))

    async def refresh(self, runtime: Runtime | None) -> None:
        """Re-read the open incident counts, at most every REFRESH_SECONDS."""
        if runtime is None or time.monotonic() - self._refreshed_at < REFRESH_SECONDS:
            return
        try:
            async with runtime.db.connection() as conn:
                counts = await stats_sql.open_counts(conn)
        except UNAVAILABLE as exc:
            log.warning("metrics: cannot count open incidents (%s)", type(exc).__name__)
            return
        for status in OPEN_STATUSES:
            for severity in SEVERITIES:
                self.open_incidents.labels(status, severity).set(0)
        for status, severity, n in counts:
            self.open_incidents.labels(status, severity).set(n)
        self._refreshed_at = time.monotonic()

    def exposition(self) -> bytes:
        """The Prometheus text format: this app's metrics, then the process-wide ones (delivery, process, gc)."""
        return generate_latest(self.registry) + generate_latest(REGISTRY)


def metrics_blueprint(metrics: Metrics, runtime_app: Quart) -> Blueprint:
    """GET /metrics, reading the database of `runtime_app` (the main app, also when served on METRICS_PORT)."""
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    async def metrics_view() -> Response:
        await metrics.refresh(runtime_app.extensions.get("tocsin"))
        return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

    return bp


def instrument(app: Quart, metrics: Metrics) -> None:
    """Time every request and count webhook outcomes; observe lifecycle actions while serving."""

    @app.before_request
    async def start_timer() -> None:
        g.tocsin_started = time.perf_counter()

    @app.after_request
    async def observe(response: Response) -> Response:
        started = g.get("tocsin_started")
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        if started is not None:
            metrics.http.labels(request.method, route, str(response.status_code)).observe(
                time.perf_counter() - started
            )
        if request.endpoint == WEBHOOK_ENDPOINT:
            metrics.webhooks.labels(webhook_outcome(response.status_code)).inc()
            metrics.alerts.inc(g.get("tocsin_alerts_ingested", 0))
        return response

    @app.before_serving
    async def listen() -> None:
        lifecycle.add_listener(metrics.observe_action)

    @app.after_serving
    async def stop_listening() -> None:
        lifecycle.remove_listener(metrics.observe_action)


def create_metrics_app(metrics: Metrics, main_app: Quart) -> Quart:
    """A separate app serving only /metrics, for METRICS_PORT."""
    app = Quart("tocsin-metrics")
    app.register_blueprint(metrics_blueprint(metrics, main_app))
    return app


def setup(app: Quart, enabled: bool, own_port: bool) -> Any:
    """Wire metrics into the app: /metrics here, or a metrics app kept for its own port; None when disabled."""
    if not enabled:
        return None
    metrics = Metrics()
    instrument(app, metrics)
    if own_port:
        app.extensions["tocsin_metrics_app"] = create_metrics_app(metrics, app)
    else:
        app.register_blueprint(metrics_blueprint(metrics, app))
    return metrics
