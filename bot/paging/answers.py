"""What people answer from their phones: SMS replies and call keypresses at the provider's webhooks (signature
checked first: an unsigned or forged request is answered 403 and nothing is acted on), and Pushover's
acknowledgement callback (believed only once Pushover's receipt API confirms it)."""

from __future__ import annotations

import json
import logging
import re

from quart import Blueprint, Response, current_app, request

from bot.actions import done, explain
from bot.paging import render
from bot.paging.common import Paging
from bot.paging.http import ProviderError
from bot.paging.phone import Answer, PhoneProvider
from bot.paging.pushover import PushoverApi
from store import page_actions
from store.domain.action_links import ACK, CALL, RESOLVE, LinkRefused, verify
from store.domain.incident import ActionSource, incident_number
from store.errors import Conflict, NotFound
from store.incidents import get_incident
from store.page_actions import ESCALATE, PhoneAction
from store.throttle import TooManyFailures, auth_check, auth_failed

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
REPLY_WORDS = {"1": ACK, "ack": ACK, "acknowledge": ACK, "2": RESOLVE, "resolve": RESOLVE}
KEYS = {"1": ACK, "2": RESOLVE, "3": ESCALATE}
VERBS = {ACK: "Acknowledged", RESOLVE: "Resolved", ESCALATE: "Escalated"}
RECEIPT = re.compile(r"[A-Za-z0-9]{30}")


def parse_reply(text: str) -> tuple[str, int | None] | None:
    """An SMS reply as (action, incident number or None: the latest texted): '1', '2 42', 'ack #42'."""
    words = text.strip().lower().split()
    if not words or words[0] not in REPLY_WORDS or len(words) > 2:
        return None
    number = incident_number(words[1]) if len(words) == 2 else None
    if len(words) == 2 and number is None:
        return None
    return REPLY_WORDS[words[0]], number


def refuse(status: int, code: str, message: str) -> Response:
    """A JSON error answer (CONTRACT section 3)."""
    body = json.dumps({"error": {"code": code, "message": message, "details": []}})
    return Response(body, status=status, content_type="application/json")


def _answer(answer: Answer) -> Response:
    return Response(answer.body, status=200, content_type=answer.content_type)


class PhoneAnswers:
    """The webhooks of one SMS and voice provider: /NAME/sms and /NAME/voice."""

    def __init__(self, provider: PhoneProvider, paging: Paging) -> None:
        self.provider = provider
        self.paging = paging

    def signed_url(self) -> str:
        """The URL the provider called (and signed): PUBLIC_URL, the path and the query."""
        query = request.query_string.decode()
        return f"{self.paging.settings.public_url}{request.path}" + (f"?{query}" if query else "")

    async def sms(self, form: dict[str, str]) -> Answer:
        """Act on a reply ('1', '2', '1 42') as the config user whose phone sent it; the text back."""
        incoming = self.provider.incoming_sms(form)
        user = next((u for u in self.paging.users if incoming and u.phone == incoming.sender), None)
        if incoming is None or user is None:
            return self.provider.reply("Tocsin: this number is not a Tocsin user's phone; nothing was done.")
        parsed = parse_reply(incoming.text)
        db = self.paging.runtime().db
        incident_id = parsed[1] if parsed else None
        if parsed and incident_id is None:
            incident_id = await page_actions.latest_incident_texted(db, incoming.sender)
        if parsed is None or incident_id is None:
            return self.provider.reply(render.sms_help(incident_id))
        answer = PhoneAction(parsed[0], incident_id, user.id, ActionSource.SMS, f"sms:{incoming.message_id}")
        return self.provider.reply(f"Tocsin: {await self._act(answer)}")

    async def voice(self, form: dict[str, str], token: str) -> Answer:
        """The call's menu (just answered) or the pressed key's action, for the incident the call's token names."""
        call = self.provider.incoming_call(form)
        key = self.paging.settings.link_key
        try:
            link = verify(key or "", token, self.paging.now()) if key and call else None
        except LinkRefused:
            link = None
        if call is None or link is None or link.action != CALL:
            return self.provider.say("This call is no longer valid. Open Tocsin to see the incident. Goodbye.")
        if call.digits not in KEYS:
            incident = await get_incident(self.paging.runtime().db, link.incident_id)
            words = render.voice_menu(incident)
            if call.digits is not None:
                words = "That is not one of the choices. " + words
            return self.provider.menu(words, self.signed_url(), render.VOICE_NO_KEY)
        answer = PhoneAction(KEYS[call.digits], link.incident_id, link.user_id, ActionSource.VOICE,
                             f"voice:{call.call_id}")
        return self.provider.say(render.spoken(await self._act(answer)) + " Goodbye.")

    async def _act(self, answer: PhoneAction) -> str:
        """Carry the answer out; what it did or why not, in words."""
        try:
            result = await page_actions.act_by_phone(self.paging.runtime().db, self.paging.runtime().config, answer,
                                                     self.paging.now())
        except Exception as exc:  # noqa: BLE001 - every failure is told to the person in words
            return explain(exc, {ACK: "acknowledge", RESOLVE: "resolve", ESCALATE: "escalate"}[answer.action])
        return done(VERBS[answer.action], result.incident).text + "."


def phone_blueprint(answers: PhoneAnswers) -> Blueprint:
    """POST /NAME/sms and /NAME/voice of the provider."""
    name = answers.provider.name
    blueprint = Blueprint(f"{name}_answers", __name__)

    async def checked_form() -> dict[str, str] | Response:
        if (request.content_length or 0) > MAX_BODY:
            return refuse(413, "payload_too_large", f"the body is larger than {MAX_BODY} bytes")
        try:
            auth_check(current_app.extensions, request)  # a client that forged signatures too often: 429
        except TooManyFailures as blocked:
            answer = refuse(blocked.status, blocked.code, blocked.message)
            answer.headers.update(blocked.headers)
            return answer
        form = {k: v for k, v in (await request.form).items()}
        if not answers.provider.verify(answers.signed_url(), form, request.headers):
            log.warning("%s webhook %s: missing or wrong request signature; nothing was done", name, request.path)
            await auth_failed(current_app.extensions, request, "paging")
            return refuse(403, "invalid_signature", f"the request is not signed by {name}")
        return form

    @blueprint.post(f"/{name}/sms")
    async def incoming_sms() -> Response:
        form = await checked_form()
        return form if isinstance(form, Response) else _answer(await answers.sms(form))

    @blueprint.post(f"/{name}/voice")
    async def incoming_voice() -> Response:
        form = await checked_form()
        token = request.args.get("t", "")
        return form if isinstance(form, Response) else _answer(await answers.voice(form, token))

    return blueprint


def pushover_blueprint(api: PushoverApi, paging: Paging) -> Blueprint:
    """POST /pushover/callback: an emergency message was acknowledged in the Pushover app."""
    blueprint = Blueprint("pushover_answers", __name__)

    @blueprint.post("/pushover/callback")
    async def pushover_callback() -> Response:
        if (request.content_length or 0) > MAX_BODY:
            return refuse(413, "payload_too_large", f"the body is larger than {MAX_BODY} bytes")
        receipt = (await request.form).get("receipt", "")
        if not RECEIPT.fullmatch(receipt):
            return refuse(400, "invalid_payload", "expected a Pushover receipt (30 letters and digits)")
        runtime = paging.runtime()
        sent = await page_actions.pushover_receipt(runtime.db, receipt)
        if sent is None:
            return refuse(404, "not_found", "no emergency message Tocsin sent has this receipt")
        try:
            status = await api.receipt(receipt)  # the callback is unsigned: Pushover's own answer decides
        except ProviderError as exc:
            return refuse(503, "provider_unavailable", f"cannot confirm the receipt with Pushover now ({exc})")
        if str(status.get("acknowledged")) != "1":
            return refuse(403, "not_acknowledged", "Pushover does not report this message as acknowledged")
        incident_id, user_key = sent
        by = str(status.get("acknowledged_by") or user_key)
        user = next((u for u in paging.users if u.pushover_user in (by, user_key)), None)
        if user is None:
            return refuse(403, "unknown_user", "the acknowledging Pushover user is not a Tocsin user")
        answer = PhoneAction(ACK, incident_id, user.id, ActionSource.PUSHOVER, f"pushover:{receipt}")
        try:
            await page_actions.act_by_phone(runtime.db, runtime.config, answer, paging.now())
        except NotFound:
            return refuse(404, "not_found", f"incident #{incident_id} does not exist")
        except Conflict as exc:  # acknowledged elsewhere first, or this callback came twice: nothing more to do
            return Response(json.dumps({"ok": True, "note": explain(exc, "acknowledge")}), status=200,
                            content_type="application/json")
        return Response(json.dumps({"ok": True}), status=200, content_type="application/json")

    return blueprint
