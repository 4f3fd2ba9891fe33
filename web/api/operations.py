"""Operations endpoints: the config version in force (admin), schedule overrides, API tokens (admin)."""

from __future__ import annotations

from typing import Any

from quart import current_app

from store import config_versions, overrides, tokens
from store.domain.incident import ActionSource
from store.domain.oncall_view import rfc3339
from store.runtime import Runtime
from store.sql.config_versions import ConfigVersion
from store.sql.tokens import ApiToken
from store.tokens import Principal
from web.api import auth
from web.api.registry import TEXT_ID, Call, Endpoint, Registry
from web.api.schema import Body, Field
from web.api.shapes import NULLABLE_STRING, NULLABLE_TIME, TIME

ID = {"type": "string"}
OVERRIDE = {
    "type": "object",
    "required": ["id", "schedule", "user", "from", "until", "created_by", "created_via", "created_at"],
    "properties": {"id": {"type": "integer"}, "schedule": ID, "user": ID, "from": TIME, "until": TIME,
                   "created_by": ID, "created_via": ID, "created_at": TIME},
}
OVERRIDES = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": OVERRIDE}}}
VERSION = {
    "type": "object",
    "required": ["version", "applied_by", "applied_via", "applied_at", "source", "sha256"],
    "properties": {"version": {"type": "integer"}, "applied_by": ID, "applied_via": ID, "applied_at": TIME,
                   "source": ID, "sha256": ID},
}
CONFIG = {
    "type": "object",
    "required": ["version", "replica", "history"],
    "properties": {
        "version": {"oneOf": [VERSION, {"type": "null"}], "description": "the newest stored version (null: none)"},
        "replica": {"type": "object", "required": ["version", "problem"], "properties": {
            "version": {"type": ["integer", "null"]}, "problem": NULLABLE_STRING}},
        "history": {"type": "array", "items": VERSION},
    },
}
TOKEN = {
    "type": "object",
    "required": ["name", "role", "user", "created_at", "last_used_at", "revoked_at"],
    "properties": {"name": ID, "role": {"type": "string", "enum": ["viewer", "responder", "admin"]},
                   "user": NULLABLE_STRING, "created_at": TIME, "last_used_at": NULLABLE_TIME,
                   "revoked_at": NULLABLE_TIME},
}
NEW_TOKEN = {**TOKEN, "required": [*TOKEN["required"], "token"],
             "properties": {**TOKEN["properties"], "token": {"type": "string", "description": "shown only once"}}}
TOKENS = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": TOKEN}}}
ADD_OVERRIDE = Body("AddOverride", (
    Field("user", "string", "the config user on call instead", required=True, min_length=1, max_length=64),
    Field("from", "string", "start (RFC 3339 with offset)", required=True, format="date-time"),
    Field("until", "string", "end (RFC 3339 with offset), after from", required=True, format="date-time"),
))
NEW_TOKEN_BODY = Body("CreateToken", (
    Field("name", "string", "unique name", required=True, min_length=1, max_length=64, pattern=f"^{TEXT_ID.pattern}$"),
    Field("role", "string", "what it may do", required=True, enum=("viewer", "responder", "admin")),
    Field("user", "string", "the config user it acts as (default token:NAME)", min_length=1, max_length=64,
          pattern=f"^{TEXT_ID.pattern}$"),
))
OVERRIDE_EXAMPLE = {"id": 7, "schedule": "primary", "user": "carol", "from": "2026-12-24T17:00:00Z",
                    "until": "2026-12-27T08:00:00Z", "created_by": "alice", "created_via": "api",
                    "created_at": "2026-12-20T10:00:00Z"}
TOKEN_EXAMPLE = {"name": "grafana", "role": "viewer", "user": None, "created_at": "2026-12-01T10:00:00Z",
                 "last_used_at": None, "revoked_at": None}
VERSION_EXAMPLE = {"version": 3, "applied_by": "alice@ops1", "applied_via": "cli", "applied_at": "2026-12-05T09:00:00Z",
                   "source": "/etc/tocsin/tocsin.yml", "sha256": "9f2c" + "0" * 60}


def _runtime() -> Runtime:
    return current_app.extensions["tocsin"]


def acting(principal: Principal) -> overrides.Acting:
    """The API caller as an override's actor."""
    return overrides.Acting(principal.actor, principal.user_id, principal.role, ActionSource.API.value)


def version_json(v: ConfigVersion) -> dict[str, Any]:
    """A stored config version (never its text)."""
    return {"version": v.version, "applied_by": v.applied_by, "applied_via": v.applied_via,
            "applied_at": rfc3339(v.applied_at), "source": v.source, "sha256": v.sha256}


def token_json(t: ApiToken) -> dict[str, Any]:
    """A token as listed (never its secret)."""
    used, revoked = t.last_used_at, t.revoked_at
    return {"name": t.name, "role": t.role.value, "user": t.user_id, "created_at": rfc3339(t.created_at),
            "last_used_at": rfc3339(used) if used else None, "revoked_at": rfc3339(revoked) if revoked else None}


def register(api: Registry, anonymous_read: bool) -> None:
    """Add the operations endpoints."""
    _config(api)
    _overrides(api, anonymous_read)
    _tokens(api)


def _config(api: Registry) -> None:
    @api.route(Endpoint("GET", "/api/v1/config", "getConfig", "The config version in force: which, who applied "
                        "it, when; and this replica's", auth.ADMIN, CONFIG,
                        example={"version": VERSION_EXAMPLE, "replica": {"version": 3, "problem": None},
                                 "history": [VERSION_EXAMPLE]}), False)
    async def get_config(call: Call) -> dict[str, Any]:
        runtime = _runtime()
        history = await config_versions.history(runtime.db, 20)
        return {"version": version_json(history[0]) if history else None,
                "replica": {"version": runtime.config_version, "problem": runtime.config_problem},
                "history": [version_json(v) for v in history]}


def _overrides(api: Registry, anonymous_read: bool) -> None:
    text = ("id",)
    path = "/api/v1/schedules/{id}/overrides"

    @api.route(Endpoint("GET", path, "listOverrides", "The schedule's overrides made without the file (live ones)",
                        auth.READ, OVERRIDES, errors=(404,), example={"items": [OVERRIDE_EXAMPLE]},
                        text_params=text), anonymous_read)
    async def list_overrides(call: Call) -> dict[str, Any]:
        runtime = _runtime()
        overrides.known_schedule(runtime.config, call.path["id"])
        found = await overrides.list_overrides(runtime.db, call.path["id"], runtime.clock())
        return {"items": [overrides.as_json(o) for o in found]}

    @api.route(Endpoint("POST", path, "addOverride", "Put someone on call instead of the rotation for a while "
                        "(your own as a responder; anyone's as an admin)", auth.WRITE, OVERRIDE, status=201,
                        body=ADD_OVERRIDE, errors=(400, 404, 409, 413, 415), example=OVERRIDE_EXAMPLE,
                        request_example={"user": "carol", "from": "2026-12-24T18:00:00+01:00",
                                         "until": "2026-12-27T09:00:00+01:00"}, text_params=text), anonymous_read)
    async def add_override(call: Call) -> dict[str, Any]:
        runtime, body = _runtime(), call.body
        made = await overrides.add_override(runtime.db, runtime.config, call.path["id"], body["user"], body["from"],
                                            body["until"], acting(call.principal))
        return overrides.as_json(made)

    @api.route(Endpoint("DELETE", path + "/{oid}", "deleteOverride", "Delete an override made without the file",
                        auth.WRITE, OVERRIDE, errors=(404,), example=OVERRIDE_EXAMPLE, text_params=text),
               anonymous_read)
    async def delete_override(call: Call) -> dict[str, Any]:
        gone = await overrides.delete_override(_runtime().db, call.path["id"], call.path["oid"],
                                               acting(call.principal))
        return overrides.as_json(gone)


def _tokens(api: Registry) -> None:
    @api.route(Endpoint("GET", "/api/v1/tokens", "listTokens", "Every API token (never its secret)", auth.ADMIN,
                        TOKENS, example={"items": [TOKEN_EXAMPLE]}), False)
    async def list_tokens(call: Call) -> dict[str, Any]:
        return {"items": [token_json(t) for t in await tokens.list_tokens(_runtime().db)]}

    @api.route(Endpoint("POST", "/api/v1/tokens", "createToken", "Make a token; the answer holds it, once",
                        auth.ADMIN, NEW_TOKEN, status=201, body=NEW_TOKEN_BODY, errors=(400, 409, 413, 415),
                        example={**TOKEN_EXAMPLE, "token": "tocsin_…"},
                        request_example={"name": "grafana", "role": "viewer"}), False)
    async def create_token(call: Call) -> dict[str, Any]:
        body = call.body
        stored, secret = await tokens.create_token(_runtime().db, body["name"], body["role"], body["user"],
                                                   call.principal.actor, ActionSource.API.value)
        return {**token_json(stored), "token": secret}

    @api.route(Endpoint("DELETE", "/api/v1/tokens/{name}", "revokeToken", "Revoke a token: it stops working at once",
                        auth.ADMIN, TOKEN, errors=(404,), example={**TOKEN_EXAMPLE,
                                                                     "revoked_at": "2026-12-05T10:00:00Z"},
                        text_params=("name",)), False)
    async def revoke_token(call: Call) -> dict[str, Any]:
        return token_json(await tokens.revoke_token(_runtime().db, call.path["name"], call.principal.actor,
                                                    ActionSource.API.value))
