"""Everything paging for the composition root: the providers the settings turn on, their delivery channels
(ntfy, pushover, sms, voice), their webhooks and the one-tap link page."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from quart import Blueprint

from bot.delivery import Channel
from bot.paging.answers import PhoneAnswers, phone_blueprint, pushover_blueprint
from bot.paging.common import Paging
from bot.paging.links import LinkPages, links_blueprint
from bot.paging.ntfy import NtfyChannel
from bot.paging.phone import PhoneChannel, PhoneProvider
from bot.paging.pushover import PushoverApi, PushoverChannel
from bot.paging.settings import PagingSettings
from bot.paging.twilio import TwilioProvider
from store.domain.action_links import ACK, RESOLVE
from store.domain.incident import Status
from store.domain.users import User
from store.models import Incident
from store.runtime import Runtime

log = logging.getLogger(__name__)


class PagingTransport:
    """Push (ntfy, Pushover), SMS and voice (Twilio) and the link page, as the settings turn them on."""

    def __init__(self, settings: PagingSettings, runtime: Callable[[], Runtime | None], users: Iterable[User]) -> None:
        self.paging = Paging(settings, runtime, users)
        self.ntfy = NtfyChannel(settings.ntfy, self.paging) if settings.ntfy else None
        self.pushover = PushoverApi(settings.pushover) if settings.pushover else None
        self.phone: PhoneProvider | None = TwilioProvider(settings.twilio) if settings.twilio else None

    def channels(self) -> list[Channel]:
        """The delivery channels of the providers that are on."""
        found: list[Channel] = []
        if self.ntfy is not None:
            found.append(self.ntfy)
        if self.pushover is not None:
            found.append(PushoverChannel(self.pushover, self.paging))
        if self.phone is not None:
            found += [PhoneChannel("sms", self.phone, self.paging), PhoneChannel("voice", self.phone, self.paging)]
        return found

    def email_actions(self, incident: Incident, address: str) -> list[tuple[str, str]]:
        """One-tap links for a mail to a paged person's address: Acknowledge while triggered, Resolve while open."""
        user = self.paging.user_for("email", address)
        wanted = [(ACK, "Acknowledge")] if incident.status is Status.TRIGGERED else []
        wanted += [(RESOLVE, "Resolve")] if incident.status is not Status.RESOLVED else []
        found = [(label, self.paging.link(incident.id, action, user, "email")) for action, label in wanted]
        return [(label, url) for label, url in found if url]

    def blueprints(self) -> list[Blueprint]:
        """/act/{token} (with a link key), /twilio/sms and /twilio/voice, /pushover/callback."""
        found = [links_blueprint(LinkPages(self.paging))] if self.paging.settings.link_key else []
        if self.phone is not None:
            found.append(phone_blueprint(PhoneAnswers(self.phone, self.paging)))
        if self.pushover is not None:
            found.append(pushover_blueprint(self.pushover, self.paging))
        return found

    async def stop(self) -> None:
        """Close the providers' HTTP sessions."""
        for http in [c.http for c in (self.ntfy, self.pushover) if c is not None]:
            await http.close()
        if self.phone is not None:
            await self.phone.close()
