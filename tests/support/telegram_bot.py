"""A recording implementation of the bot's IncidentActions, and the bot wired to the Bot API stand-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.telegram.app import TelegramBot, create_bot
from bot.telegram.settings import ChatTarget, TelegramSettings
from store.domain.incident import ActionSource, InvalidTransition, Status
from store.errors import DatabaseUnavailable
from store.models import Incident
from store.sql.incidents import NotFound
from tests.support.telegram_incidents import make_incident

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "webhook-s3cret_value"
TRUSTED_CHAT = -1001
ALICE_TG = 111111  # in the config as "alice"
MISSING_ID = 404  # actions raise NotFound for it
RESOLVED_ID = 43  # actions raise InvalidTransition for it
UNAVAILABLE_ID = 503  # actions raise DatabaseUnavailable for it
BROKEN_ID = 500  # actions raise an unexpected error for it


@dataclass
class RecordingActions:
    """Records every call; raises like the store services for MISSING_ID and RESOLVED_ID."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    open_incidents: list[Incident] = field(default_factory=lambda: [make_incident(), make_incident(id=44)])
    oncall: str = "primary: alice (until 2026-11-30 09:00 Europe/Berlin)"

    async def acknowledge(self, incident_id: int, actor: str, source: ActionSource) -> None:
        self.calls.append(("acknowledge", incident_id, actor, source))
        self._check(incident_id, "acknowledge")

    async def resolve(self, incident_id: int, actor: str, source: ActionSource, note: str | None) -> None:
        self.calls.append(("resolve", incident_id, actor, source, note))
        self._check(incident_id, "resolve")

    async def silence(self, incident_id: int, seconds: float, actor: str, source: ActionSource) -> None:
        self.calls.append(("silence", incident_id, actor, source, seconds))
        self._check(incident_id, "silence")

    async def list_open(self) -> list[Incident]:
        self.calls.append(("list_open",))
        return self.open_incidents

    async def oncall_text(self) -> str:
        self.calls.append(("oncall_text",))
        return self.oncall

    def _check(self, incident_id: int, action: str) -> None:
        if incident_id == MISSING_ID:
            raise NotFound(f"incident #{incident_id} does not exist")
        if incident_id == RESOLVED_ID:
            raise InvalidTransition(incident_id, action, Status.RESOLVED)
        if incident_id == UNAVAILABLE_ID:
            raise DatabaseUnavailable()
        if incident_id == BROKEN_ID:
            raise RuntimeError("a bug")


def telegram_settings(api_url: str, webhook: bool, token: str = TOKEN) -> TelegramSettings:
    """Settings pointing at the stand-in, trusting TRUSTED_CHAT."""
    return TelegramSettings(
        token,
        chats=(ChatTarget(TRUSTED_CHAT),),
        webhook_secret=SECRET if webhook else None,
        api_url=api_url,
        public_url="https://tocsin.example",
        alertmanager_url="http://alertmanager:9093",
    )


def make_bot(
    settings: TelegramSettings, actions: RecordingActions, dsn: str | None = None, **poller_options: float
) -> TelegramBot:
    """The bot as the composition root builds it, with alice's telegram_id in the config."""
    return create_bot(settings, actions, {ALICE_TG: "alice"}, dsn, **poller_options)
