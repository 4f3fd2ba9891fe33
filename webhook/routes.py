"""POST /api/v1/webhooks/alertmanager: check, parse, ingest, answer fast."""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any

import orjson
from quart import Blueprint, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from store.domain.alerts import AlertBatch
from store.errors import ApiError
from store.ingest import IngestResult, ingest_batch
from store.intake import Overloaded
from store.runtime import TIMED_OUT, UNAVAILABLE, Runtime, unavailable_error
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


async def _read_body(settings: WebhookSettings) -> bytes:
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
    return raw


def _decode(raw: bytes) -> Any:
    try:
        if b"\\u0000" in raw:  # rare; the pattern is slow on large bodies, so look for it only when needed
            raw = NUL_ESCAPE.sub(rb"\1\\ufffd", raw)  # shown as the replacement character
        return orjson.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {str(exc)[:200]}") from None


def _too_large(settings: WebhookSettings) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is larger than WEBHOOK_MAX_BYTES ({settings.max_bytes} bytes)")


def _answer(result: IngestResult) -> dict[str, Any]:
    skipped = [{"index": s.index, "reason": s.reason} for s in result.skipped]
    return {"incidents": result.incident_ids, "skipped": skipped}


def _overloaded(reason: str, settings: WebhookSettings) -> ApiError:
    error = ApiError(503, "overloaded", f"{reason}; nothing was stored: send it again later")
    error.headers = {"Retry-After": str(max(1, round(settings.max_wait)))}
    return error


def _batch(raw: bytes) -> AlertBatch:
    """The body as a batch: 400 not JSON, 422 not an Alertmanager webhook or no usable alert."""
    try:
        batch = parse_webhook(_decode(raw))
    except PayloadError as exc:
        raise ApiError(exc.status, "invalid_payload", str(exc), exc.details) from None
    if batch.skipped and not batch.alerts:
        details = [{"index": s.index, "message": s.reason} for s in batch.skipped]
        raise ApiError(422, "invalid_payload", "no alert in the body could be used", details)
    return batch


async def _store(runtime: Runtime, raw: bytes, settings: WebhookSettings) -> IngestResult:
    """Parse and store the body (with other webhooks' when serving, in its turn); every failure here means
    nothing was stored, and a 5xx makes Alertmanager send the same body again."""
    try:
        if runtime.intake is None:
            return await ingest_batch(runtime.db, _batch(raw), runtime.routes, runtime.clock)
        async with runtime.intake.admitted() as deadline:
            return await runtime.intake.submit(_batch(raw), deadline)
    except Overloaded as exc:
        log.warning("webhook not stored: %s", exc)
        raise _overloaded(str(exc), settings) from None
    except TIMED_OUT as exc:
        log.warning("webhook not stored: a statement ran past WEBHOOK_MAX_WAIT (%s)", type(exc).__name__)
        raise _overloaded(f"storing took longer than WEBHOOK_MAX_WAIT ({settings.max_wait:g} s)", settings) from None
    except UNAVAILABLE as exc:
        log.warning("webhook not stored, database unavailable: %s", type(exc).__name__)
        raise unavailable_error(exc) from None


def create_blueprint(settings: WebhookSettings) -> Blueprint:
    """The Alertmanager webhook route, reading the runtime from app.extensions['tocsin']."""
    bp = Blueprint("webhook", __name__)

    @bp.post("/api/v1/webhooks/alertmanager")
    async def alertmanager_webhook() -> tuple[dict[str, Any], int]:
        _check_token(settings)
        raw = await _read_body(settings)
        result = await _store(current_app.extensions["tocsin"], raw, settings)
        g.tocsin_alerts_ingested = result.alerts_stored  # read by the composition root's metrics
        return _answer(result), 200

    return bp
