"""Twilio as the SMS and voice provider: its REST API for texts and calls, TwiML for answers, and the official
library's RequestValidator for `X-Twilio-Signature` (an HMAC-SHA1 of the URL and form under the Auth Token)."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot.paging.http import ProviderHttp
from bot.paging.phone import Answer, IncomingCall, IncomingSms
from bot.paging.settings import TwilioSettings

XML = "application/xml"
GATHER_SECONDS = 10


class TwilioProvider:
    """Texts and calls through Twilio's REST API (2010-04-01), answers in TwiML."""

    name = "twilio"

    def __init__(self, settings: TwilioSettings) -> None:
        self.settings = settings
        self.http = ProviderHttp("Twilio")
        self.validator = RequestValidator(settings.auth_token)

    def _url(self, resource: str) -> str:
        return f"{self.settings.api_url}/2010-04-01/Accounts/{self.settings.account_sid}/{resource}.json"

    async def _create(self, resource: str, form: dict[str, str]) -> str:
        credentials = base64.b64encode(f"{self.settings.account_sid}:{self.settings.auth_token}".encode()).decode()
        headers = {"Authorization": f"Basic {credentials}"}
        data = await self.http.call("POST", self._url(resource), resource, data=form, headers=headers)
        return str((data or {}).get("sid") or "")

    async def send_sms(self, to: str, text: str) -> str:
        """POST Messages.json; the message's SID."""
        return await self._create("Messages", {"To": to, "From": self.settings.from_number, "Body": text})

    async def call(self, to: str, answer_url: str) -> str:
        """POST Calls.json with the URL Twilio fetches the call's TwiML from; the call's SID."""
        form = {"To": to, "From": self.settings.from_number, "Url": answer_url, "Method": "POST"}
        return await self._create("Calls", form)

    def verify(self, url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        """Twilio's signature check, by its own library."""
        signature = headers.get("X-Twilio-Signature", "")
        return bool(signature) and self.validator.validate(url, dict(form), signature)

    def incoming_sms(self, form: Mapping[str, str]) -> IncomingSms | None:
        """From, Body and MessageSid of an incoming text."""
        sender, sid = form.get("From", ""), form.get("MessageSid") or form.get("SmsSid", "")
        return IncomingSms(sender, form.get("Body", ""), sid) if sender and sid else None

    def incoming_call(self, form: Mapping[str, str]) -> IncomingCall | None:
        """CallSid and, after a <Gather>, Digits."""
        sid = form.get("CallSid", "")
        return IncomingCall(sid, form.get("Digits") or None) if sid else None

    def reply(self, text: str) -> Answer:
        """<Response><Message>text</Message></Response>."""
        response = MessagingResponse()
        response.message(text)
        return Answer(str(response), XML)

    def menu(self, words: str, action_url: str, goodbye: str) -> Answer:
        """<Gather numDigits=1> around <Say>, then a goodbye when no key was pressed."""
        response = VoiceResponse()
        gather = Gather(num_digits=1, action=action_url, method="POST", timeout=GATHER_SECONDS)
        gather.say(words)
        response.append(gather)
        response.say(goodbye)
        return Answer(str(response), XML)

    def say(self, words: str) -> Answer:
        """<Say> then <Hangup>."""
        response = VoiceResponse()
        response.say(words)
        response.hangup()
        return Answer(str(response), XML)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()
