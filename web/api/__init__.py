"""The REST API (CONTRACT section 3): incidents, alerts, stats and the OpenAPI document."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from quart import Blueprint

from web.api import (
    ack_actions,
    alerts,
    docs_page,
    heartbeats,
    incidents,
    integration_ops,
    maintenance,
    openapi,
    operations,
    outside_ops,
    postmortems,
    reports,
    stats,
)
from web.api.registry import Registry
from web.settings import HttpSettings


def _version() -> str:
    try:
        return version("tocsin")
    except PackageNotFoundError:
        return "0"


def create_blueprint(http: HttpSettings, alertmanager_url: str | None = None) -> Blueprint:
    """Every API endpoint, plus GET /api/v1/openapi.json generated from their declarations and its page /api/docs."""
    api = Registry("api")
    incidents.register(api, http.public_url, http.anonymous_read, alertmanager_url)
    ack_actions.register(api, http.public_url, http.anonymous_read)
    maintenance.register(api, http.anonymous_read)
    heartbeats.register(api, http.anonymous_read)
    alerts.register(api, http.public_url, http.anonymous_read)
    stats.register(api, http.anonymous_read)
    reports.register(api, http.anonymous_read)
    postmortems.register(api, http.public_url, http.anonymous_read)
    operations.register(api, http.anonymous_read)
    outside = {**outside_ops.operations(http.anonymous_read), **integration_ops.operations()}
    doc = openapi.document(api.endpoints, http.anonymous_read, _version(), outside)

    @api.blueprint.get("/api/v1/openapi.json")
    async def openapi_json() -> dict[str, Any]:
        return doc

    api.blueprint.register_blueprint(docs_page.create_blueprint())
    return api.blueprint
