"""POST /api/v1/webhooks/alertmanager: check, parse, ingest, answer fast."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from quart import Blueprint, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from store.domain.alerts import AlertBatch
from store.errors import ApiError
from store.ingest import IngestResult, ingest_batch
from store.intake import Overloaded
from store.runtime import TIMED_OUT, UNAVAILABLE, Runtime, unavailable_error
from store.throttle import ClientRequest, auth_guard
from webhook.alertmanager import PayloadError, parse_webhook
from webhook.settings import WebhookSettings

log = logging.getLogger(__name__)
# U+0000 escaped in a JSON string (not after an escaped backslash): PostgreSQL cannot store it in text or jsonb.
NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
ALERTMANAGER_HINT = ("Alertmanager must send 'Authorization: Bearer <WEBHOOK_TOKEN>' "
                     "(http_config.authorization.credentials in its receiver)")
Parser = Callable[[Any], AlertBatch]  # a decoded body to a batch (PayloadError when it is not one)


@dataclass(frozen=True, slots=True)
class Sender:
    """A route taking Alertmanager-shaped bodies: its path, how its body is parsed, what its 401 tells the sender."""

    path: str
    parse: Parser
    hint: str


ALERTMANAGER = Sender("/api/v1/webhooks/alertmanager", parse_webhook, ALERTMANAGER_HINT)


def check_token(settings: WebhookSettings, header: str, hint: str = ALERTMANAGER_HINT) -> None:
    """401 unless the Authorization header carries WEBHOOK_TOKEN (when one is set)."""
    if settings.token is None:
        return
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "unauthorized", f"missing bearer token: {hint}")
    if not hmac.compare_digest(given.strip().encode(), settings.token.encode()):
        raise ApiError(401, "unauthorized", "wrong bearer token: it does not match WEBHOOK_TOKEN")


def check_declared(settings: WebhookSettings, mimetype: str, length: int | None, any_type: bool = False) -> None:
    """415 for a body that is not JSON (unless any type goes), 413 for a declared length past WEBHOOK_MAX_BYTES."""
    if mimetype != "application/json" and not any_type:
        raise ApiError(415, "unsupported_media_type", f"expected Content-Type application/json, got {mimetype!r}")
    if length is not None and length > settings.max_bytes:
        raise too_large(settings)


async def _read_body(settings: WebhookSettings, any_type: bool = False) -> bytes:
    check_declared(settings, request.mimetype or "", request.content_length, any_type)
    try:
        raw = await request.get_data(as_text=False)
    except RequestEntityTooLarge:
        raise too_large(settings) from None
    if len(raw) > settings.max_bytes:
        raise too_large(settings)
    return raw


def _decode(raw: bytes) -> Any:
    try:
        if b"\\u0000" in raw:  # rare; the pattern is slow on large bodies, so look for it only when needed
            raw = NUL_ESCAPE.sub(rb"\1\\ufffd", raw)  # shown as the replacement character
        return orjson.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {str(exc)[:200]}") from None


def too_large(settings: WebhookSettings) -> ApiError:
    """413: the body is past WEBHOOK_MAX_BYTES."""
    return ApiError(413, "payload_too_large", f"the body is larger than WEBHOOK_MAX_BYTES ({settings.max_bytes} bytes)")


def answer(result: IngestResult) -> dict[str, Any]:
    """What a stored webhook answers: the incidents of its alerts and the alerts skipped, with why."""
    skipped = [{"index": s.index, "reason": s.reason} for s in result.skipped]
    return {"incidents": result.incident_ids, "skipped": skipped}


def _overloaded(reason: str, settings: WebhookSettings) -> ApiError:
    error = ApiError(503, "overloaded", f"{reason}; nothing was stored: send it again later")
    error.headers = {"Retry-After": str(max(1, round(settings.max_wait)))}
    return error


def _batch(raw: bytes, parse: Parser = parse_webhook) -> AlertBatch:
    """The body as a batch: 400 not JSON, 422 not the sender's webhook body or no usable alert."""
    try:
        batch = parse(_decode(raw))
    except PayloadError as exc:
        raise ApiError(exc.status, "invalid_payload", str(exc), exc.details) from None
    if batch.skipped and not batch.alerts:
        details = [{"index": s.index, "message": s.reason} for s in batch.skipped]
        raise ApiError(422, "invalid_payload", "no alert in the body could be used", details)
    return batch


async def _store(
    runtime: Runtime, raw: bytes, settings: WebhookSettings, parse: Parser = parse_webhook
) -> IngestResult:
    """Parse and store the body (with other webhooks' when serving, in its turn); every failure here means
    nothing was stored, and a 5xx makes Alertmanager send the same body again."""
    return await _ingest(runtime, lambda: _batch(raw, parse), settings)


async def _ingest(runtime: Runtime, make: Callable[[], AlertBatch], settings: WebhookSettings) -> IngestResult:
    """Store the batch `make` gives (made once admitted); every failure an ApiError, nothing stored."""
    try:
        if runtime.intake is None:
            return await ingest_batch(runtime.db, make(), runtime.routes, runtime.clock)
        async with runtime.intake.admitted() as deadline:
            return await runtime.intake.submit(make(), deadline)
    except Overloaded as exc:
        log.warning("webhook not stored: %s", exc)
        raise _overloaded(str(exc), settings) from None
    except TIMED_OUT as exc:
        log.warning("webhook not stored: a statement ran past WEBHOOK_MAX_WAIT (%s)", type(exc).__name__)
        raise _overloaded(f"storing took longer than WEBHOOK_MAX_WAIT ({settings.max_wait:g} s)", settings) from None
    except UNAVAILABLE as exc:
        log.warning("webhook not stored, database unavailable: %s", type(exc).__name__)
        raise unavailable_error(exc) from None


async def accept(
    extensions: Mapping[str, Any], client: ClientRequest, settings: WebhookSettings, sender: Sender,
    read: Callable[[], Awaitable[bytes]],
) -> IngestResult:
    """A sender's webhook, checked in order (a blocked client 429, the token 401, then `read` the body: 415, 413)
    and stored; every refusal an ApiError, and nothing stored then. The route's view and the fast path
    (webhook/asgi.py) both answer through here."""
    async with auth_guard(extensions, client, "webhook"):
        check_token(settings, client.headers.get("Authorization", ""), sender.hint)
    return await _store(extensions["tocsin"], await read(), settings, sender.parse)


def sender_view(settings: WebhookSettings, sender: Sender) -> Callable[[], Awaitable[tuple[dict[str, Any], int]]]:
    """The Quart view of a sender's route (POSTs reach the fast path first when it is installed)."""

    async def view() -> tuple[dict[str, Any], int]:
        result = await accept(current_app.extensions, request, settings, sender, lambda: _read_body(settings))
        g.tocsin_alerts_ingested = result.alerts_stored  # read by the composition root's metrics
        return answer(result), 200

    return view


async def store_batch(batch: AlertBatch, settings: WebhookSettings) -> IngestResult:
    """Store a batch made from another sender's request (PagerDuty's events), as a webhook body is stored."""
    result = await _ingest(current_app.extensions["tocsin"], lambda: batch, settings)
    g.tocsin_alerts_ingested = result.alerts_stored
    return result


def create_blueprint(settings: WebhookSettings) -> Blueprint:
    """The Alertmanager webhook route, reading the runtime from app.extensions['tocsin']."""
    bp = Blueprint("webhook", __name__)
    bp.add_url_rule(ALERTMANAGER.path, "alertmanager_webhook", sender_view(settings, ALERTMANAGER), methods=["POST"])
    return bp
