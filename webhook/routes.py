"""POST /api/v1/webhooks/alertmanager: check, parse, ingest, answer fast."""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any

from quart import Blueprint, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from store.errors import ApiError
from store.ingest import IngestResult, ingest_batch
from store.runtime import UNAVAILABLE, Runtime, unavailable_error
from store.throttle import auth_guard
from webhook.alertmanager import PayloadError, parse_webhook
from webhook.settings import WebhookSettings

log = logging.getLogger(__name__)
# U+0000 escaped in a JSON string (not after an escaped backslash): PostgreSQL cannot store it in text or jsonb.
NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def _check_token(settings: WebhookSettings) -> None:
    if settings.token is None:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(
            401,
            "unauthorized",
            "missing bearer token: Alertmanager must send 'Authorization: Bearer <WEBHOOK_TOKEN>' "
            "(http_config.authorization.credentials in its receiver)",
        )
    if not hmac.compare_digest(given.strip().encode(), settings.token.encode()):
        raise ApiError(401, "unauthorized", "wrong bearer token: it does not match WEBHOOK_TOKEN")


async def _read_json(settings: WebhookSettings) -> Any:
    content_type = request.mimetype or ""
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", f"expected Content-Type application/json, got {content_type!r}")
    if request.content_length is not None and request.content_length > settings.max_bytes:
        raise _too_large(settings)
    try:
        raw = await request.get_data(as_text=False)
    except RequestEntityTooLarge:
        raise _too_large(settings) from None
    if len(raw) > settings.max_bytes:
        raise _too_large(settings)
    try:
        return json.loads(NUL_ESCAPE.sub(rb"\1\\ufffd", raw))  # shown as the replacement character
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {str(exc)[:200]}") from None


def _too_large(settings: WebhookSettings) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is larger than WEBHOOK_MAX_BYTES ({settings.max_bytes} bytes)")


def _answer(result: IngestResult) -> dict[str, Any]:
    skipped = [{"index": s.index, "reason": s.reason} for s in result.skipped]
    return {"incidents": result.incident_ids, "skipped": skipped}


def create_blueprint(settings: WebhookSettings) -> Blueprint:
    """The Alertmanager webhook route, reading the runtime from app.extensions['tocsin']."""
    bp = Blueprint("webhook", __name__)

    @bp.post("/api/v1/webhooks/alertmanager")
    async def alertmanager_webhook() -> tuple[dict[str, Any], int]:
        async with auth_guard(current_app.extensions, request, "webhook"):
            _check_token(settings)
        body = await _read_json(settings)
        try:
            batch = parse_webhook(body)
        except PayloadError as exc:
            raise ApiError(exc.status, "invalid_payload", str(exc), exc.details) from None
        if batch.skipped and not batch.alerts:
            details = [{"index": s.index, "message": s.reason} for s in batch.skipped]
            raise ApiError(422, "invalid_payload", "no alert in the body could be used", details)
        runtime: Runtime = current_app.extensions["tocsin"]
        try:
            result = await ingest_batch(runtime.db, batch, runtime.routes, runtime.clock)
        except UNAVAILABLE as exc:
            # Nothing was stored: a 5xx makes Alertmanager send the same body again.
            log.warning("webhook not stored, database unavailable: %s", type(exc).__name__)
            raise unavailable_error(exc) from None
        g.tocsin_alerts_ingested = result.alerts_stored  # read by the composition root's metrics
        return _answer(result), 200

    return bp
