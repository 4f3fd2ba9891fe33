"""POST /telegram/webhook: check Telegram's secret header and hand the update to the application."""

from __future__ import annotations

import hmac
import json
import logging

from quart import Blueprint, current_app, request
from telegram import Update
from telegram.ext import Application

from store.errors import ApiError
from store.throttle import auth_guard

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name, not a secret


def _check_secret(secret: str) -> None:
    given = request.headers.get(SECRET_HEADER)
    if not given:
        message = f"missing {SECRET_HEADER} header (Telegram sends TELEGRAM_WEBHOOK_SECRET)"
        raise ApiError(401, "unauthorized", message)
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ApiError(403, "forbidden", f"wrong {SECRET_HEADER}: it does not match TELEGRAM_WEBHOOK_SECRET")


def create_blueprint(application: Application, secret: str) -> Blueprint:  # type: ignore[type-arg]
    """The webhook route; updates go to application.update_queue (processed by application.start())."""
    bp = Blueprint("telegram", __name__)

    @bp.post("/telegram/webhook")
    async def telegram_webhook() -> tuple[dict[str, bool], int]:
        async with auth_guard(current_app.extensions, request, "telegram"):
            _check_secret(secret)
        try:
            data = json.loads(await request.get_data(as_text=False))
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            message = "expected a Telegram Update: a JSON object with an integer update_id"
            raise ApiError(400, "invalid_payload", message)
        try:
            update = Update.de_json(data, application.bot)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:  # PTB trusts it
            raise ApiError(400, "invalid_payload", f"not a Telegram Update: {type(exc).__name__}: {exc}") from None
        await application.update_queue.put(update)
        return {"ok": True}, 200

    return bp
