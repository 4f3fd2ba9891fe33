"""POST /api/v1/heartbeats/{id}: a ping, with any body or an Alertmanager webhook (its Watchdog alert, routed here)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

import orjson
from quart import Blueprint, current_app, request

from store import heartbeats
from store.domain.heartbeats import counts_as_ping
from store.errors import ApiError
from store.runtime import UNAVAILABLE, Runtime, unavailable_error
from store.throttle import auth_guard
from webhook.routes import _read_body
from webhook.settings import WebhookSettings

log = logging.getLogger(__name__)


def _unauthorized(message: str) -> ApiError:
    error = ApiError(401, "unauthorized", message)
    error.headers = {"WWW-Authenticate": 'Bearer realm="tocsin"'}
    return error


def check_ping_token(webhook_token: str | None, own_token: str | None) -> None:
    """A ping carries WEBHOOK_TOKEN or the heartbeat's own token as bearer token (anyone may ping when neither is
    set); 401 otherwise."""
    accepted = [t for t in (webhook_token, own_token) if t]
    if not accepted:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>' (WEBHOOK_TOKEN or the "
                            "heartbeat's token)")
    if not any(hmac.compare_digest(given.strip().encode(), token.encode()) for token in accepted):
        raise _unauthorized("wrong bearer token: it is neither WEBHOOK_TOKEN nor the heartbeat's token")


async def _body(settings: WebhookSettings) -> Any:
    """The body: JSON when it is JSON (an Alertmanager webhook, say), else its bytes; 413 past WEBHOOK_MAX_BYTES."""
    raw = await _read_body(settings, any_type=True)
    try:
        return orjson.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        return raw  # any body is a ping


def create_blueprint(settings: WebhookSettings) -> Blueprint:
    """The ping route, reading the runtime (config, database, clock) from app.extensions['tocsin']."""
    bp = Blueprint("heartbeats", __name__)

    @bp.post("/api/v1/heartbeats/<heartbeat_id>")
    async def ping(heartbeat_id: str) -> tuple[dict[str, Any], int]:
        runtime: Runtime = current_app.extensions["tocsin"]
        declared = runtime.config.heartbeat(heartbeat_id)
        async with auth_guard(current_app.extensions, request, "webhook"):
            check_ping_token(settings.token, declared.token if declared else None)
        if declared is None:
            raise ApiError(404, "not_found", f"heartbeat {heartbeat_id[:80]!r} is not declared in the config")
        body = await _body(settings)
        if not counts_as_ping(body):
            return {"id": declared.id, "counted": False,
                    "reason": "every alert of this Alertmanager webhook has resolved: not a ping"}, 200
        try:
            view = await heartbeats.ping(runtime.db, runtime.config, declared.id, runtime.clock)
        except UNAVAILABLE as exc:
            log.warning("heartbeat ping not stored, database unavailable: %s", type(exc).__name__)
            raise unavailable_error(exc) from None
        last = view.state.last_seen_at if view.state else None
        return {"id": declared.id, "counted": True, "status": view.status,
                "last_seen_at": last.isoformat().replace("+00:00", "Z") if last else None}, 200

    return bp
