"""Prometheus metrics (`tocsin_*`): webhooks, alerts, open incidents, time to acknowledge/resolve, SLA breaches and
time left, HTTP timing, and
what an operator needs to see trouble: delivery backlog and its age, escalation lag, database pool use.

Delivery attempts by outcome (sent, retry, failed) and the pending/failed gauges are the delivery worker's
(bot/delivery.py, process-wide registry); the composition root hands its `publish_counts` over as the
`tocsin_delivery_report` extension so that a scrape refreshes them too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
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

from store import lifecycle, sla
from store.domain.heartbeats import HeartbeatState
from store.domain.incident import SEVERITIES
from store.domain.sla import KINDS, time_left
from store.intake import Intake
from store.runtime import UNAVAILABLE, Runtime
from store.sql import heartbeats as heartbeats_sql
from store.sql import sla as sla_sql
from store.sql import stats as stats_sql
from webhook.routes import ALERTMANAGER

log = logging.getLogger(__name__)
WEBHOOK_ENDPOINT = "webhook.alertmanager_webhook"
OPEN_STATUSES = ("triggered", "acknowledged")
RESPONSE_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200)
REFRESH_SECONDS = 10.0
# The surfaces that count refused credentials (store.throttle), shown at 0 before any failure.
AUTH_SURFACES = ("api", "dashboard", "webhook", "events", "slack", "telegram", "discord", "mattermost", "paging")


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
        self.oldest_pending = Gauge("tocsin_delivery_oldest_pending_seconds",
                                    "Age of the oldest message not yet sent (0: none waiting)", ["channel"], registry=r)
        self.escalations_due = Gauge("tocsin_escalations_due", "Escalation steps due but not fired yet", registry=r)
        self.escalation_lag = Gauge("tocsin_escalation_lag_seconds",
                                    "How long the most overdue escalation step has been due without firing", registry=r)
        self.pool = Gauge("tocsin_db_pool_connections", "Database connections of this process, by pool and state",
                          ["pool", "state"], registry=r)
        self.pool_max = Gauge("tocsin_db_pool_max_connections", "Largest size of each pool", ["pool"], registry=r)
        self.sla_breaches = Counter("tocsin_sla_breaches", "SLA breaches recorded by this process, by kind (ack or "
                                    "resolve) and route", ["kind", "route"], registry=r)
        self.sla_time_left = Gauge("tocsin_sla_time_left_seconds", "Least time left before an open incident "
                                   "breaches its SLA target, by kind and route (negative: overdue)",
                                   ["kind", "route"], registry=r)
        self._sla_series: set[tuple[str, str]] = set()
        self.auth_failures = Counter("tocsin_auth_failures", "Refused credentials (missing or wrong token, secret or "
                                     "signature), by surface", ["surface"], registry=r)
        for surface in AUTH_SURFACES:
            self.auth_failures.labels(surface)
        self.webhooks_waiting = Gauge("tocsin_webhooks_waiting", "Webhooks waiting for an ingest transaction",
                                      registry=r)
        self.ingest = Counter("tocsin_ingest_transactions", "Ingest transactions committed (each stores one or "
                              "more webhooks)", registry=r)
        self.ingested_webhooks = Counter("tocsin_ingest_webhooks", "Webhooks stored by those transactions",
                                         registry=r)
        self.overloaded = Counter("tocsin_webhooks_overloaded", "Webhooks answered 503 because no transaction "
                                  "took them within WEBHOOK_MAX_WAIT (nothing stored)", registry=r)
        self.heartbeat_seen = Gauge("tocsin_heartbeat_last_seen_timestamp_seconds",
                                    "When each heartbeat last pinged, as Unix time (absent until its first ping)",
                                    ["heartbeat"], registry=r)
        self.heartbeat_down = Gauge("tocsin_heartbeat_down", "1 while a heartbeat's missing alert fires, else 0",
                                    ["heartbeat"], registry=r)
        self.quiet = Gauge("tocsin_quiet_incidents", "Open incidents kept quiet (no pages), by reason: in a "
                           "maintenance window, or flapping", ["reason"], registry=r)
        self.flapping_groups = Gauge("tocsin_flapping_groups", "Alert groups flapping now (more state changes than "
                                     "their route's flap_threshold within flap_window)", registry=r)
        self._intake_seen = (0, 0, 0)
        self._channels: set[str] = set()
        self._refreshed_at = float("-inf")

    def count_auth_failure(self, surface: str) -> None:
        """One refused credential on `surface` (store.throttle calls this)."""
        self.auth_failures.labels(surface).inc()

    def observe_action(self, result: lifecycle.ActionResult) -> None:
        """Record time to acknowledge or resolve of a committed lifecycle action."""
        incident = result.incident
        if result.action == "acknowledge" and incident.acknowledged_at:
            self.tta.observe(max(0.0, (incident.acknowledged_at - incident.triggered_at).total_seconds()))
        elif result.action == "resolve" and incident.resolved_at:
            self.ttr.observe(max(0.0, (incident.resolved_at - incident.triggered_at).total_seconds()))

    def observe_breach(self, breach: sla.Breach) -> None:
        """Count a breach this process recorded."""
        self.sla_breaches.labels(breach.kind, breach.route_id).inc()

    def observe_time_left(self, runtime: Runtime, open_incidents: list[sla_sql.OpenIncident]) -> None:
        """The least time left (or most overdue) per kind and route among the open incidents with a target."""
        now = runtime.clock()
        least: dict[tuple[str, str], float] = {}
        for incident in open_incidents:
            target = runtime.config.sla_target(incident.route_id, incident.severity)
            for kind in KINDS:
                left = time_left(incident.clock, target, kind, now)
                if left is not None:
                    key = (kind, incident.route_id)
                    least[key] = min(least.get(key, float("inf")), left.total_seconds())
        for key in self._sla_series - set(least):
            self.sla_time_left.remove(*key)
        for (kind, route), seconds in least.items():
            self.sla_time_left.labels(kind, route).set(seconds)
        self._sla_series = set(least)

    async def refresh(self, extensions: Mapping[str, Any]) -> None:
        """Read the pools now; re-read the counts kept in the database at most every REFRESH_SECONDS."""
        self.observe_pools(extensions.get("tocsin_pools", {}))
        runtime: Runtime | None = extensions.get("tocsin")
        if runtime is not None and runtime.intake is not None:
            self.observe_intake(runtime.intake)
        if runtime is None or time.monotonic() - self._refreshed_at < REFRESH_SECONDS:
            return
        try:
            async with runtime.db.connection() as conn:
                counts = await stats_sql.open_counts(conn)
                backlog = await stats_sql.delivery_backlog(conn)
                due, lag = await stats_sql.escalation_lag(conn)
                open_incidents = await sla_sql.open_incidents(conn) if runtime.config.tracks_sla else []
                quiet = await stats_sql.quiet_counts(conn)
                beats = await heartbeats_sql.states(conn)
        except UNAVAILABLE as exc:
            log.warning("metrics: cannot read the counts (%s)", type(exc).__name__)
            return
        for status in OPEN_STATUSES:
            for severity in SEVERITIES:
                self.open_incidents.labels(status, severity).set(0)
        for status, severity, n in counts:
            self.open_incidents.labels(status, severity).set(n)
        self.observe_backlog(backlog, extensions.get("tocsin_delivery_report"))
        self.escalations_due.set(due)
        self.escalation_lag.set(lag)
        self.observe_time_left(runtime, open_incidents)
        self.observe_quiet(quiet, beats, [h.id for h in runtime.config.heartbeats])
        self._refreshed_at = time.monotonic()

    def observe_quiet(self, counts: tuple[int, int, int], beats: Mapping[str, HeartbeatState],
                      declared: list[str]) -> None:
        """Quiet incidents and flapping groups; each declared heartbeat's last ping and whether it is down."""
        windows, flapping, groups = counts
        self.quiet.labels("maintenance").set(windows)
        self.quiet.labels("flapping").set(flapping)
        self.flapping_groups.set(groups)
        for heartbeat_id in declared:
            state = beats.get(heartbeat_id)
            if state is not None and state.last_seen_at is not None:
                self.heartbeat_seen.labels(heartbeat_id).set(state.last_seen_at.timestamp())
            self.heartbeat_down.labels(heartbeat_id).set(1 if state is not None and state.down_since else 0)

    def observe_backlog(self, backlog: list[stats_sql.Backlog], report: Callable[[Any], None] | None) -> None:
        """Oldest unsent message per channel; the worker's pending/failed gauges through `report`."""
        oldest: dict[str, float] = {}
        by_state: dict[str, dict[str, int]] = {}
        for row in backlog:
            by_state.setdefault(row.channel, {})[row.state] = row.count
            if row.state != "failed":
                oldest[row.channel] = max(oldest.get(row.channel, 0.0), row.oldest_age)
        self._channels |= set(oldest)
        for channel in self._channels:
            self.oldest_pending.labels(channel).set(oldest.get(channel, 0.0))
        if report is not None:
            report(by_state)

    def observe_intake(self, intake: Intake) -> None:
        """Webhooks waiting now; transactions, webhooks stored and refused since the last look."""
        self.webhooks_waiting.set(intake.waiting())
        now = (intake.transactions, intake.batches, intake.overloaded)
        for counter, before, after in zip((self.ingest, self.ingested_webhooks, self.overloaded), self._intake_seen,
                                          now, strict=True):
            if after > before:
                counter.inc(after - before)
        self._intake_seen = now

    def observe_pools(self, pools: Mapping[str, Any]) -> None:
        """Size, connections in use and idle of each pool (store.db.Database) of this process."""
        for name, database in pools.items():
            size, idle = database.usage()
            self.pool.labels(name, "open").set(size)
            self.pool.labels(name, "idle").set(idle)
            self.pool.labels(name, "in_use").set(size - idle)
            self.pool_max.labels(name).set(database.settings.max_open_conns)

    def count_webhook(self, status: int, alerts: int) -> None:
        """An Alertmanager webhook answered with `status`, having stored `alerts`."""
        self.webhooks.labels(webhook_outcome(status)).inc()
        self.alerts.inc(alerts)

    def observe_webhook(self, route: str, status: int, seconds: float, alerts: int) -> None:
        """A sender's webhook answered without Quart (webhook/asgi.py): what the after_request hook records."""
        self.http.labels("POST", route, str(status)).observe(seconds)
        if route == ALERTMANAGER.path:
            self.count_webhook(status, alerts)

    def exposition(self) -> bytes:
        """The Prometheus text format: this app's metrics, then the process-wide ones (delivery, process, gc)."""
        return generate_latest(self.registry) + generate_latest(REGISTRY)


def metrics_blueprint(metrics: Metrics, runtime_app: Quart) -> Blueprint:
    """GET /metrics, reading the database of `runtime_app` (the main app, also when served on METRICS_PORT)."""
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    async def metrics_view() -> Response:
        await metrics.refresh(runtime_app.extensions)
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
            metrics.count_webhook(response.status_code, g.get("tocsin_alerts_ingested", 0))
        return response

    @app.before_serving
    async def listen() -> None:
        lifecycle.add_listener(metrics.observe_action)
        sla.add_listener(metrics.observe_breach)

    @app.after_serving
    async def stop_listening() -> None:
        lifecycle.remove_listener(metrics.observe_action)
        sla.remove_listener(metrics.observe_breach)


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
    app.extensions["tocsin_metrics"] = metrics
    instrument(app, metrics)
    if own_port:
        app.extensions["tocsin_metrics_app"] = create_metrics_app(metrics, app)
    else:
        app.register_blueprint(metrics_blueprint(metrics, app))
    return metrics
