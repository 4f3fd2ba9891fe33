"""The composition root: create_app(settings) wires the store, the webhook, the API and the bots."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from quart import Quart, Response, jsonify
from werkzeug.exceptions import HTTPException

import webhook.heartbeats
import webhook.integrations
import webhook.routes
from bot.paging.app import PagingTransport
from scheduler.runner import add_escalation_jobs, add_oncall_jobs
from store import throttle as auth_throttle
from store.db import Database, create_database
from store.domain.config_schema import Config
from store.domain.routing import RouteTable
from store.errors import ApiError, StoreError, internal_error
from store.errors import http_error as store_http_error
from store.intake import Intake, IntakeSettings
from store.runtime import Runtime
from web import api, health, http_policy, metrics
from web.alertmanager import silencer
from web.api import oncall
from web.api.auth import read_guard
from web.chat import build_chat
from web.config_loader import default_route
from web.config_sync import ConfigSync
from web.dashboard import create_blueprint as dashboard_blueprint
from web.dashboard.settings import DashboardSettings
from web.delivery import build_registry, start_delivery
from web.outgoing import build_outgoing
from web.settings import Settings
from webhook.asgi import WebhookFastPath

log = logging.getLogger(__name__)


def _error_json(error: ApiError) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _register_errors(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def api_error(error: ApiError) -> Response:
        return _error_json(error)

    @app.errorhandler(StoreError)
    async def store_error(error: StoreError) -> Response:
        return _error_json(store_http_error(error))

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        return _error_json(ApiError(error.code or 500, code, error.description or error.name))

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return _error_json(internal_error())


async def _start_throttle(settings: Settings, db: Database, scheduler: AsyncIOScheduler,
                          counter: Callable[[str], None] | None) -> auth_throttle.AuthThrottle:
    """The authentication throttle, with the blocks already in the database, refreshed every few seconds."""
    security = settings.security
    throttle = auth_throttle.AuthThrottle(db, security.throttle, security.trusted_proxies, counter)
    await throttle.refresh()  # blocks made before a restart hold until their windows end, no longer
    scheduler.add_job(throttle.refresh, "interval", seconds=auth_throttle.REFRESH_SECONDS, id="auth_throttle")
    return throttle


INGEST_WORKERS = 2  # webhook transactions at once: each takes everything waiting, so two keep the CPU busy
SHUTDOWN_STEP = 10.0  # seconds any one shutdown step may take before it is abandoned (and logged)


async def open_ingest_pool(dsn: str, settings: Settings) -> Database:
    """The webhooks' own connections, one per intake worker; a statement that runs past WEBHOOK_MAX_WAIT
    (waiting for a lock included) is cancelled, so a webhook never holds a connection for long."""
    limit = str(max(1, round(settings.webhook.max_wait * 1000)))
    sized = replace(settings.database, max_open_conns=INGEST_WORKERS, max_idle_conns=INGEST_WORKERS)
    # Every ingest statement is a keyed lookup. Until autovacuum first analyzes a new or fast-growing table
    # the planner thinks it tiny, and the plans cached on these connections scanned it whole on every webhook
    # (10.5 M incident rows read in 15 s of new groups); with sequential scans off they take the index at once.
    return await create_database(
        dsn, sized, {"statement_timeout": limit, "lock_timeout": limit, "enable_seqscan": "off"}
    )


async def _bounded(what: str, step: Awaitable[Any], seconds: float = SHUTDOWN_STEP) -> None:
    """Run one shutdown step for at most `seconds`; say what was still running when it is abandoned."""
    try:
        await asyncio.wait_for(step, seconds)
    except TimeoutError:
        log.warning("shutdown: %s took longer than %.0f s; abandoned", what, seconds)
    except Exception:
        log.exception("shutdown: %s failed", what)


async def _close_pool(name: str, pool: Database) -> None:
    """Close a pool, waiting for its connections at most SHUTDOWN_STEP; then cut the ones still held."""
    try:
        await asyncio.wait_for(pool.close(), SHUTDOWN_STEP)
    except TimeoutError:
        open_, idle = pool.usage()
        log.warning("shutdown: the %s pool still had %d of %d connections in use after %.0f s; terminated",
                    name, open_ - idle, open_, SHUTDOWN_STEP)
        pool.pool.terminate()
    except Exception:
        log.exception("shutdown: closing the %s pool failed", name)
        pool.pool.terminate()


def create_app(
    settings: Settings, dsn: str, routes: RouteTable | None = None, config: Config | None = None
) -> Quart:
    """Build the Quart app; the pool opens when serving starts and closes when it stops."""
    if config is None:
        config = Config(routes=routes or RouteTable(default=default_route(settings)))
    app = Quart("tocsin")
    http_policy.apply(app, settings)
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = True
    state: dict[str, Any] = {}
    _register_errors(app)
    app.register_blueprint(health.create_blueprint())
    app.register_blueprint(webhook.routes.create_blueprint(settings.webhook))
    app.register_blueprint(webhook.integrations.create_blueprint(settings.webhook))
    app.register_blueprint(webhook.heartbeats.create_blueprint(settings.webhook))
    app.register_blueprint(api.create_blueprint(settings.http, settings.alertmanager_url))
    app.register_blueprint(oncall.create_blueprint(auth=read_guard(settings.http.anonymous_read)))
    app.register_blueprint(dashboard_blueprint(DashboardSettings(
        settings.http.public_url, settings.http.anonymous_read, settings.alertmanager_url, dsn, settings.oidc)))
    app_metrics = metrics.setup(app, settings.http.metrics_enabled, settings.http.metrics_port is not None)
    chat = app.extensions["tocsin_chat"] = build_chat(app, settings, config, dsn)
    paging = PagingTransport(settings.paging, lambda: app.extensions.get("tocsin"), config.users)
    for blueprint in [*chat.routes, *paging.blueprints()]:
        app.register_blueprint(blueprint)
    app.asgi_app = WebhookFastPath(  # type: ignore[method-assign]
        app.asgi_app, app.extensions, settings.webhook, [webhook.routes.ALERTMANAGER, webhook.integrations.GRAFANA],
        http_policy.answer_headers(settings), app_metrics.observe_webhook if app_metrics is not None else None,
        settings.http.body_timeout)

    @app.before_serving
    async def open_database() -> None:
        db = await create_database(dsn, settings.database)
        state["ingest_pool"] = ingest_pool = await open_ingest_pool(dsn, settings)
        runtime = app.extensions["tocsin"] = Runtime(db=db, config=config, silencer=silencer(settings.alertmanager_url))
        state["config"] = sync = ConfigSync(settings, runtime, config)
        await sync.start()
        runtime.intake = state["intake"] = Intake(ingest_pool, lambda: runtime.routes, lambda: runtime.clock(),
                                                  IntakeSettings(max_wait=settings.webhook.max_wait,
                                                                 workers=INGEST_WORKERS))
        runtime.intake.start()
        state["outgoing"] = outgoing = build_outgoing(settings, db, lambda: runtime.routes, chat.names)
        channels = [*chat.channels(), *paging.channels(), *outgoing.channels()]
        registry = build_registry(settings, channels, chat.names, paging.email_actions)
        registry.add_family(outgoing.webhooks)
        state["delivery"] = delivery = await start_delivery(settings, db, registry)
        app.extensions["tocsin_pools"] = {"main": db, "ingest": ingest_pool, "delivery": delivery.pool}
        app.extensions["tocsin_delivery_report"] = delivery.worker.publish_counts
        # Escalation runs on the background pool: a flood of webhooks or clicks cannot hold it up.
        runtime.background = delivery.pool
        add_escalation_jobs(delivery.scheduler, runtime)
        add_oncall_jobs(delivery.scheduler, runtime)
        counter = app_metrics.count_auth_failure if app_metrics is not None else None
        app.extensions[auth_throttle.EXTENSION] = await _start_throttle(settings, db, delivery.scheduler, counter)
        await chat.start()

    @app.after_serving
    async def close_database() -> None:
        app.extensions.pop(auth_throttle.EXTENSION, None)
        await _bounded("stopping the chat bots", chat.stop())
        await _bounded("closing the paging providers' connections", paging.stop())
        if "config" in state:
            await _bounded("stopping the config follower", state.pop("config").stop())
        app.extensions.pop("tocsin_pools", None)
        if "intake" in state:
            await _bounded("storing the webhooks taken", state.pop("intake").stop(grace=SHUTDOWN_STEP))
        if "delivery" in state:
            await _bounded("stopping the delivery worker", state.pop("delivery").stop())
        if "outgoing" in state:
            await _bounded("closing the integrations' connections", state.pop("outgoing").close())
        runtime: Runtime | None = app.extensions.pop("tocsin", None)
        for name, pool in (("ingest", state.pop("ingest_pool", None)), ("main", runtime.db if runtime else None)):
            if pool is not None:
                await _close_pool(name, pool)

    if settings.webhook.token is None:
        log.warning("WEBHOOK_TOKEN is not set: anyone who can reach this server can post alerts")
    return app
