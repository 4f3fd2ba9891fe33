"""A stand-in of Twilio's REST API (2010-04-01) on loopback: Messages and Calls (account, Basic auth and
numbers checked as Twilio does), faults; and Twilio's side of the webhooks: replies and keypresses posted to
Tocsin signed with the twilio library's own RequestValidator, exactly as Twilio signs them."""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.support.provider_api import Call, StandIn, post_form

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fedcba9876543210" * 2
FROM = "+14155550100"
BASIC = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()


def signed(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    """The X-Twilio-Signature header Twilio sends with this form to this URL."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


@dataclass
class TwilioApi(StandIn):
    """The stand-in; `url` is TWILIO_API_URL."""

    messages: list[dict[str, str]] = field(default_factory=list)
    calls_made: list[dict[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def handle(self, request: web.Request, call: Call, raw: bytes) -> web.Response:
        """POST /2010-04-01/Accounts/SID/Messages.json and Calls.json."""
        prefix = f"/2010-04-01/Accounts/{ACCOUNT_SID}/"
        auth = request.headers.get("Authorization", "")
        if not request.path.startswith(prefix) or auth != BASIC:
            return _refuse(401, 20003, "Authenticate")
        form = call.body if isinstance(call.body, dict) else {}
        if form.get("From") != FROM:
            return _refuse(400, 21606, "The From phone number is not a valid, SMS-capable inbound phone number")
        if not str(form.get("To", "")).startswith("+"):
            return _refuse(400, 21211, f"The 'To' number {form.get('To')} is not a valid phone number.")
        resource = request.path.removeprefix(prefix)
        if resource == "Messages.json" and form.get("Body"):
            sid = f"SM{next(self._ids):032x}"
            self.messages.append({**form, "sid": sid})
            return web.json_response({"sid": sid, "status": "queued", "to": form["To"]}, status=201)
        if resource == "Calls.json" and form.get("Url"):
            sid = f"CA{next(self._ids):032x}"
            self.calls_made.append({**form, "sid": sid})
            return web.json_response({"sid": sid, "status": "queued", "to": form["To"]}, status=201)
        return _refuse(400, 21603, "A 'Body' or 'Url' parameter is required")

    def texts_to(self, number: str) -> list[dict[str, str]]:
        """The texts sent to a number."""
        return [m for m in self.messages if m["To"] == number]

    @staticmethod
    def sms_form(sender: str, text: str, sid: str = "SMreply0001") -> dict[str, str]:
        """An incoming text as Twilio posts it to the messaging webhook."""
        return {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": FROM,
                "Body": text, "NumMedia": "0"}

    @staticmethod
    def call_form(call: dict[str, Any], digits: str | None = None) -> dict[str, str]:
        """A request about a call Tocsin made (answered, or after a <Gather> with the keys pressed)."""
        form = {"CallSid": call["sid"], "AccountSid": ACCOUNT_SID, "From": FROM, "To": call["To"],
                "CallStatus": "in-progress", "Direction": "outbound-api"}
        return {**form, "Digits": digits} if digits is not None else form

    async def reply(self, webhook_url: str, sender: str, text: str, sid: str = "SMreply0001") -> tuple[int, str]:
        """A person texts back: Twilio posts the reply, signed, to Tocsin's messaging webhook."""
        form = self.sms_form(sender, text, sid)
        return await post_form(webhook_url, form, signed(webhook_url, form))

    async def answer(self, call: dict[str, Any], url: str, digits: str | None = None) -> tuple[int, str]:
        """The call is answered (or a key pressed): Twilio posts, signed, to the URL it was given."""
        form = self.call_form(call, digits)
        return await post_form(url, form, signed(url, form))


def _refuse(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                              "status": status}, status=status)
