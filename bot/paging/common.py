"""What every paging channel and answer shares: the runtime, one-tap links, and who a phone contact belongs to."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from bot.delivery import SendResult
from bot.paging.settings import PagingSettings
from store.domain import action_links
from store.domain.incident import Status
from store.domain.users import User
from store.errors import Unavailable
from store.models import Delivery, Incident
from store.runtime import Runtime, utc_now

SKIPPED = "skipped"  # a page queued before the acknowledgement and claimed after it: never sent
CONTACT_KEYS = {"ntfy": "ntfy_topic", "pushover": "pushover_user", "sms": "phone", "voice": "phone", "email": "email"}


class Paging:
    """The serving app's runtime, the link key and the config's people, for the paging channels and answers."""

    def __init__(self, settings: PagingSettings, runtime: Callable[[], Runtime | None], users: Iterable[User]) -> None:
        self.settings = settings
        self._runtime = runtime
        self._users_at_start = tuple(users)

    @property
    def users(self) -> tuple[User, ...]:
        """The config's people now (a config version applied while serving counts at once), else at start."""
        runtime = self._runtime()
        return tuple(runtime.config.users) if runtime is not None else self._users_at_start

    def runtime(self) -> Runtime:
        """The serving app's runtime; Unavailable while Tocsin starts or stops."""
        runtime = self._runtime()
        if runtime is None:
            raise Unavailable("Tocsin is starting or stopping; try again in a moment", code="starting")
        return runtime

    def now(self) -> datetime:
        """The runtime's clock (the wall clock while starting)."""
        runtime = self._runtime()
        return runtime.clock() if runtime is not None else utc_now()

    def user_for(self, channel: str, target: str) -> User | None:
        """The config user a delivery's target (topic, user key, number, address) belongs to."""
        key = CONTACT_KEYS.get(channel)
        return next((u for u in self.users if key and getattr(u, key) == target), None)

    def token(self, incident_id: int, action: str, user_id: str, channel: str) -> str | None:
        """A signed token for this person's action on the incident (None without ACTION_LINK_KEY)."""
        key = self.settings.link_key
        if key is None:
            return None
        return action_links.sign(key, incident_id, action, user_id, channel, self.now())

    def link(self, incident_id: int, action: str, user: User | None, channel: str) -> str | None:
        """The one-tap link of this person's action (None without a key or a known person)."""
        token = self.token(incident_id, action, user.id, channel) if user else None
        return action_links.link_url(self.settings.public_url, token) if token else None


def paging_over(delivery: Delivery, incident: Incident) -> SendResult | None:
    """The result for a page that must not ring any more (the incident was acknowledged or resolved since it was
    queued), else None: a phone is woken only while the incident is triggered."""
    if incident.status is Status.TRIGGERED:
        return None
    return SendResult(True, external_ref=SKIPPED)
