"""The OpenAPI 3.1 document, generated from the registered endpoint declarations."""

from __future__ import annotations

from typing import Any

from web.api import auth
from web.api.oncall_shapes import SCHEMAS as ONCALL_SCHEMAS
from web.api.registry import TEXT_ID, Endpoint
from web.api.shapes import COMPONENTS, ref

TAGS = {
    "incidents": "Incidents: list, read, open by hand, acknowledge, resolve, annotate, silence",
    "alerts": "The alerts Alertmanager sent, each with its incident",
    "stats": "Counts, time to acknowledge and time to resolve",
    "reports": "SLA attainment per route, severity or team, as JSON or CSV",
    "oncall": "Who is on call, and each schedule's shifts as a calendar feed",
    "webhook": "Where Alertmanager, Grafana and PagerDuty-style senders send their alerts",
    "schedules": "Overrides of a schedule made without the config file",
    "config": "The config version in force on every replica (admin)",
    "tokens": "API tokens (admin)",
    "maintenance": "Maintenance windows: alerts they cover open incidents that do not page",
    "heartbeats": "Dead man's switches: pings expected within a timeout, else an incident",
}
ERROR_TEXT = {
    400: "Malformed request (e.g. a body that is not JSON)",
    401: "Missing, unknown or revoked bearer token",
    403: "The token's role is too low (or, for an override, it is someone else's and the token is no admin)",
    404: "No such object",
    409: "The action makes no sense in the current state (an incident's status, an override overlapping another, "
         "a token name taken)",
    412: "If-Match names a version that is no longer current: someone saved since; reload",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid parameter or body; details name the field",
    428: "If-Match is missing: send the ETag of the version you edited",
    429: "too_many_failures: this address failed to authenticate too often; retry after Retry-After seconds",
    503: "Database unavailable; retry later",
}


def error_response(description: str) -> dict[str, Any]:
    """An error answer in CONTRACT's error shape."""
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def _error(status: int) -> dict[str, Any]:
    return error_response(ERROR_TEXT[status])


def read_security(anonymous_read: bool) -> list[dict[str, list[str]]]:
    """Who may read: a bearer token, or anyone when ANONYMOUS_READ is on."""
    return [{}, {"bearerAuth": []}] if anonymous_read else [{"bearerAuth": []}]


def _media(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {"schema": schema} if example is None else {"schema": schema, "example": example}


def _path_schema(endpoint: Endpoint, name: str) -> dict[str, Any]:
    if name in endpoint.text_params:
        return {"type": "string", "pattern": f"^{TEXT_ID.pattern}$"}
    return {"type": "integer", "minimum": 1}


def _operation(endpoint: Endpoint, anonymous_read: bool) -> dict[str, Any]:
    statuses = {401, 422, 429, 503, *endpoint.errors}
    if endpoint.access != auth.READ:
        statuses.add(403)
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(endpoint, name)}
        for name in endpoint.path_params()
    ] + endpoint.query.openapi()
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "tags": [endpoint.path.split("/")[3]],
        "summary": endpoint.summary,
        "parameters": parameters,
        "responses": {
            str(endpoint.status): {
                "description": "OK" if endpoint.status == 200 else "Created",
                "content": {
                    "application/json": _media(endpoint.response, endpoint.example),
                    **{media: _media({"type": "string"}, example) for media, example in endpoint.other_media.items()},
                },
            },
            **{str(s): _error(s) for s in sorted(statuses)},
        },
        "security": read_security(anonymous_read and endpoint.access == auth.READ),
    }
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": not endpoint.body.optional,
            "content": {"application/json": _media(ref(endpoint.body.name), endpoint.request_example)},
        }
    return operation


def document(
    endpoints: list[Endpoint], anonymous_read: bool, version: str, extra: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The whole OpenAPI document of these endpoints, plus `extra` operations of routes served elsewhere."""
    paths: dict[str, dict[str, Any]] = dict(extra or {})
    schemas = {**COMPONENTS, **ONCALL_SCHEMAS}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, anonymous_read)
        if endpoint.body is not None:
            schemas[endpoint.body.name] = endpoint.body.json_schema()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tocsin API",
            "version": version,
            "description": "Incidents, alerts and statistics of Tocsin. Errors are "
            '{"error": {"code", "message", "details"}}; times are RFC 3339 UTC. Writes need a bearer token '
            "of role responder or admin, reads a viewer token (or none when ANONYMOUS_READ=true); tokens and config "
            "versions need an admin token.",
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
