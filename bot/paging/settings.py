"""The settings paging needs (CONTRACT section 8): ntfy, Pushover, Twilio and the one-tap link key."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from store.domain.action_links import MIN_KEY
from store.domain.contacts import PHONE

DEFAULT_PUSHOVER_URL = "https://api.pushover.net"
DEFAULT_TWILIO_URL = "https://api.twilio.com"
PUSHOVER_TOKEN = re.compile(r"^[A-Za-z0-9]{30}$")
TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
TWILIO_TOKEN = re.compile(r"^[0-9a-fA-F]{32}$")
SEND_INTERVAL = 60.0  # at most one text or call a minute per number, as GoAlert does


class PagingSettingsError(ValueError):
    """One paging setting has a bad value; the message names it and says what was expected."""


@dataclass(frozen=True, slots=True)
class NtfySettings:
    """An ntfy server (self-hosted or the public one) and its access token, if it needs one."""

    url: str
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PushoverSettings:
    """The Pushover application's token and the API's URL."""

    app_token: str = field(repr=False)
    api_url: str = DEFAULT_PUSHOVER_URL


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    """The Twilio account, the number texts and calls come from, and the API's URL."""

    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str = ""
    api_url: str = DEFAULT_TWILIO_URL


@dataclass(frozen=True, slots=True)
class PagingSettings:
    """Which paging providers are on (None: off), the link key, and where Tocsin is reached from a phone."""

    ntfy: NtfySettings | None = None
    pushover: PushoverSettings | None = None
    twilio: TwilioSettings | None = None
    link_key: str | None = field(default=None, repr=False)
    public_url: str = "http://localhost:8080"
    send_interval: float = SEND_INTERVAL

    @property
    def providers(self) -> list[str]:
        """Names of the providers that are on."""
        on = (("ntfy", self.ntfy), ("pushover", self.pushover), ("twilio", self.twilio))
        return [name for name, value in on if value is not None]


def read_paging_settings(lookup: Callable[[str], str | None], public_url: str) -> PagingSettings:
    """The paging settings; each provider is on when its first setting (NTFY_URL, PUSHOVER_APP_TOKEN,
    TWILIO_ACCOUNT_SID) is set, and then ACTION_LINK_KEY is required (its pages carry one-tap links)."""
    settings = PagingSettings(
        ntfy=_ntfy(lookup), pushover=_pushover(lookup), twilio=_twilio(lookup),
        link_key=_value(lookup, "ACTION_LINK_KEY"), public_url=public_url.rstrip("/"),
    )
    if settings.link_key is not None and len(settings.link_key) < MIN_KEY:
        raise PagingSettingsError(f"ACTION_LINK_KEY: expected a random secret of at least {MIN_KEY} characters "
                                  "(such as the output of: openssl rand -hex 32)")
    if settings.providers and settings.link_key is None:
        raise PagingSettingsError(f"ACTION_LINK_KEY: expected to be set when {settings.providers[0]} is on: its "
                                  f"pages carry signed one-tap links (at least {MIN_KEY} random characters)")
    return settings


def _ntfy(lookup: Callable[[str], str | None]) -> NtfySettings | None:
    url = _value(lookup, "NTFY_URL")
    token = _value(lookup, "NTFY_TOKEN")
    if url is None:
        return None
    return NtfySettings(_url(url, "NTFY_URL"), token)


def _pushover(lookup: Callable[[str], str | None]) -> PushoverSettings | None:
    token = _value(lookup, "PUSHOVER_APP_TOKEN")
    api_url = _url(_value(lookup, "PUSHOVER_API_URL") or DEFAULT_PUSHOVER_URL, "PUSHOVER_API_URL")
    if token is None:
        return None
    if not PUSHOVER_TOKEN.match(token):
        raise PagingSettingsError("PUSHOVER_APP_TOKEN: expected the application's API token from Pushover "
                                  "(Your Applications): 30 letters and digits")
    return PushoverSettings(token, api_url)


def _twilio(lookup: Callable[[str], str | None]) -> TwilioSettings | None:
    sid = _value(lookup, "TWILIO_ACCOUNT_SID")
    token = _value(lookup, "TWILIO_AUTH_TOKEN")
    sender = _value(lookup, "TWILIO_FROM")
    api_url = _url(_value(lookup, "TWILIO_API_URL") or DEFAULT_TWILIO_URL, "TWILIO_API_URL")
    if sid is None:
        return None
    if not TWILIO_SID.match(sid):
        raise PagingSettingsError("TWILIO_ACCOUNT_SID: expected the Account SID from the Twilio console: AC and "
                                  "32 hexadecimal characters")
    if token is None or not TWILIO_TOKEN.match(token):
        raise PagingSettingsError("TWILIO_AUTH_TOKEN: expected the account's Auth Token from the Twilio console "
                                  "(32 hexadecimal characters); it also checks the requests Twilio sends")
    if sender is None or not PHONE.fullmatch(sender):
        raise PagingSettingsError("TWILIO_FROM: expected the Twilio number texts and calls come from, in E.164 "
                                  "form such as +14155550100")
    return TwilioSettings(sid, token, sender, api_url)


def _url(text: str, name: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise PagingSettingsError(f"{name}: expected a URL starting with http:// or https://")
    return text.rstrip("/")


def _value(lookup: Callable[[str], str | None], name: str) -> str | None:
    value = lookup(name)
    return value.strip() or None if value is not None else None
