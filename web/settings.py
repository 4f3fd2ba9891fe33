"""Read the environment once (CONTRACT section 2) into frozen dataclasses; a bad value names the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.discord.settings import DiscordSettings, DiscordSettingsError, read_discord_settings
from bot.email.settings import TLS_MODES, EmailSettings, check_address
from bot.mattermost.settings import MattermostSettings, MattermostSettingsError, read_mattermost_settings
from bot.outgoing.settings import (
    JiraSettings,
    OutgoingSettingsError,
    PagerDutySettings,
    read_jira_settings,
    read_pagerduty_settings,
)
from bot.paging.settings import PagingSettings, PagingSettingsError, read_paging_settings
from bot.slack.settings import DEFAULT_API_URL, SlackSettings
from bot.telegram.settings import TelegramSettings, TelegramSettingsError, read_telegram_settings
from store.domain.contacts import check_email, check_slack_channel, check_telegram_chat
from store.domain.delivery import RetryPolicy
from store.domain.throttle import Network, ThrottlePolicy, parse_networks
from store.settings import DatabaseSettings
from web.settings_catalog import SECRET_NAMES, declared
from webhook.settings import WebhookSettings

LEVELS = ("debug", "info", "warning", "error", "critical")
ROLES = ("viewer", "responder", "admin")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
SLACK_COMMAND = re.compile(r"^/[a-z0-9_-]{1,31}$")
ORIGIN = re.compile(r"^https?://([a-z0-9.-]+|\[[0-9a-f:]+\])(:\d{1,5})?$")


class SettingsError(ValueError):
    """One setting has a bad value; the message names it and says what was expected."""


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Where and how the HTTP server listens."""

    host: str = "0.0.0.0"  # noqa: S104 - the documented default (HOST); containers need it
    port: int = 8080
    public_url: str = "http://localhost:8080"
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    anonymous_read: bool = False
    metrics_enabled: bool = True
    metrics_port: int | None = None
    header_timeout: float = 10.0
    body_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Whose X-Forwarded-For is believed, which origins get CORS, how many failed authentications a client may make."""

    trusted_proxies: tuple[Network, ...] = ()
    cors_origins: tuple[str, ...] = ()  # ("*",) for any origin; () for no CORS at all
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)


@dataclass(frozen=True, slots=True)
class OidcSettings:
    """OIDC_*: single sign-on with an OpenID Connect provider (authorization code with PKCE)."""

    issuer: str
    client_id: str
    client_secret: str | None = None
    role_claim: str = "groups"
    roles: tuple[tuple[str, str], ...] = ()  # (group, role) in the order written

    def redirect_uri(self, public_url: str) -> str:
        """Where the provider sends people back: PUBLIC_URL/auth/oidc/callback."""
        return public_url.rstrip("/") + "/auth/oidc/callback"


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Log level and format."""

    level: str = "info"
    format: str = "text"


@dataclass(frozen=True, slots=True)
class ChannelDefaults:
    """Where the default route sends incidents: SLACK_CHANNEL, TELEGRAM_CHAT_ID and EMAIL_TO."""

    slack_channel: str | None = None
    telegram_chats: tuple[str, ...] = ()
    email_to: tuple[str, ...] = ()
    discord_channel: str | None = None
    mattermost_channel: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything read from the environment, once."""

    http: HttpSettings = field(default_factory=HttpSettings)
    oidc: OidcSettings | None = None  # None: no single sign-on (OIDC_ISSUER unset)
    log: LogSettings = field(default_factory=LogSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    channels: ChannelDefaults = field(default_factory=ChannelDefaults)
    config_path: Path | None = None
    config_watch: bool = False  # TOCSIN_CONFIG_WATCH: apply the file whenever it changes
    alertmanager_url: str | None = None
    slack: SlackSettings | None = None
    telegram: TelegramSettings | None = None  # None: Telegram off (TELEGRAM_BOT_TOKEN unset)
    discord: DiscordSettings | None = None  # None: Discord off (DISCORD_BOT_TOKEN unset)
    mattermost: MattermostSettings | None = None  # None: Mattermost off (MATTERMOST_BOT_TOKEN unset)
    email: EmailSettings | None = None  # None: email off (EMAIL_SMTP_HOST unset)
    pagerduty: PagerDutySettings = field(default_factory=PagerDutySettings)  # routes' `pagerduty` forwards here
    jira: JiraSettings | None = None  # None: no Jira (JIRA_URL unset); routes with `jira` are then refused
    paging: PagingSettings = field(default_factory=PagingSettings)  # ntfy, Pushover, Twilio, ACTION_LINK_KEY
    delivery: RetryPolicy = field(default_factory=RetryPolicy)
    delivery_lease: float = 120.0  # how long a worker's claim on a message lasts; a dead worker's expires after it
    raw: Mapping[str, str] = field(default_factory=dict, repr=False)

    def secrets(self) -> list[str]:
        """Every secret value in force, so that logs can be scrubbed of them."""
        return [v for k, v in self.raw.items() if k in SECRET_NAMES and v]


class _Env:
    """Typed access to the environment, with NAME_FILE variants."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.values: dict[str, str] = {}

    def str(self, name: str, default: str | None = None) -> str | None:
        declared(name)  # every name read is declared, so none goes undocumented
        file_name = self.environ.get(f"{name}_FILE")
        if file_name:
            try:
                value: str | None = Path(file_name).read_text().strip()
            except OSError as exc:
                raise SettingsError(f"{name}_FILE: cannot read {file_name!r} ({exc.strerror})") from None
        else:
            value = self.environ.get(name)
        if value is None or value == "":
            return default
        self.values[name] = value
        return value

    def int(self, name: str, default: int | None, low: int = 0, high: int = 2**31) -> int | None:
        text = self.str(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise SettingsError(f"{name}={text!r}: expected a whole number") from None
        if not low <= value <= high:
            raise SettingsError(f"{name}={value}: expected a number from {low} to {high}")
        return value

    def bool(self, name: str, default: bool) -> bool:
        text = self.str(name)
        if text is None:
            return default
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={text!r}: expected true or false")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        text = (self.str(name) or default).lower()
        if text not in choices:
            raise SettingsError(f"{name}={text!r}: expected one of {', '.join(choices)}")
        return text

    def duration(self, name: str, default: float) -> float:
        text = self.str(name)
        if text is None:
            return default
        return parse_duration(text, name)

    def url(self, name: str, default: str | None = None, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
        text = self.str(name, default)
        if text is None:
            return None
        if not any(text.startswith(f"{s}://") for s in schemes):
            raise SettingsError(f"{name}: expected a URL starting with {' or '.join(s + '://' for s in schemes)}")
        return text.rstrip("/") if text.startswith("http") else text

    def checked_list(self, name: str, check: Callable[[str], str]) -> tuple[str, ...]:
        """A comma-separated list, each item passed through a check that raises ValueError."""
        text = self.str(name)
        if text is None:
            return ()
        items = [item.strip() for item in text.split(",") if item.strip()]
        for item in items:
            try:
                check(item)
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc}") from None
        return tuple(items)

    def path(self, name: str, default: Path | None = None, must_exist: bool = False) -> Path | None:
        text = self.str(name)
        if text is None:
            return default
        path = Path(text)
        if must_exist and not path.is_file():
            raise SettingsError(f"{name}={text!r}: expected an existing, readable file")
        return path


def _max_wait(env: _Env) -> float:
    wait = env.duration("WEBHOOK_MAX_WAIT", 5.0)
    if not 0.5 <= wait <= 300:
        raise SettingsError(f"WEBHOOK_MAX_WAIT={wait:g}s: expected a duration from 0.5s to 5m (such as 5s)")
    return wait


def parse_duration(text: str, name: str = "duration") -> float:
    """'30s', '15m', '2h', '1d' (or plain seconds) to seconds."""
    match = DURATION.match(text.strip())
    if not match:
        raise SettingsError(f"{name}={text!r}: expected a duration such as 30s, 15m, 2h or 1d")
    return float(match.group(1)) * UNIT_SECONDS[match.group(2)]


def _telegram_settings(env: _Env, public_url: str, alertmanager_url: str | None) -> TelegramSettings | None:
    """Telegram's settings through the same reader (NAME_FILE variants, secrets remembered for scrubbing)."""
    try:
        return read_telegram_settings(env.str, public_url, alertmanager_url)
    except TelegramSettingsError as exc:
        raise SettingsError(str(exc)) from None


def _chat_settings(
    env: _Env, public_url: str, alertmanager_url: str | None
) -> tuple[DiscordSettings | None, MattermostSettings | None]:
    """Discord's and Mattermost's settings through the same reader."""
    try:
        return (read_discord_settings(env.str, public_url, alertmanager_url),
                read_mattermost_settings(env.str, public_url, alertmanager_url))
    except (DiscordSettingsError, MattermostSettingsError) as exc:
        raise SettingsError(str(exc)) from None


def _outgoing_settings(env: _Env) -> tuple[PagerDutySettings, JiraSettings | None]:
    """PagerDuty's Events API URL and Jira's settings through the same reader."""
    try:
        return read_pagerduty_settings(env.str), read_jira_settings(env.str)
    except OutgoingSettingsError as exc:
        raise SettingsError(str(exc)) from None


def _paging_settings(env: _Env, public_url: str) -> PagingSettings:
    """ntfy's, Pushover's and Twilio's settings and the link key, through the same reader."""
    try:
        return read_paging_settings(env.str, public_url)
    except PagingSettingsError as exc:
        raise SettingsError(str(exc)) from None


def read_slack_settings(env: _Env, public_url: str, alertmanager_url: str | None) -> SlackSettings | None:
    """Slack's settings, or None when no bot token is set (Slack off)."""
    name = "SLACK_BOT_TOKEN"
    token = env.str(name)
    if token is None:
        name = "SLACK_TOKEN"
        token = env.str(name)
    if token is None:
        return None
    if not token.startswith("xoxb-"):
        raise SettingsError(f"{name}: expected a bot token starting with xoxb- (OAuth & Permissions page of the app)")
    app_token = env.str("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN: expected an app-level token starting with xapp- (Basic Information page)")
    secret = env.str("SLACK_SIGNING_SECRET")
    if secret is None and app_token is None:
        raise SettingsError(
            "SLACK_SIGNING_SECRET: expected to be set when Slack is on, to check that requests come from Slack "
            "(or set SLACK_APP_TOKEN for Socket Mode)"
        )
    command = env.str("SLACK_COMMAND", "/incident") or "/incident"
    if not SLACK_COMMAND.match(command):
        raise SettingsError(f"SLACK_COMMAND={command!r}: expected a slash command such as /incident (lowercase)")
    channel = env.str("SLACK_CHANNEL")
    api_url = env.url("SLACK_API_URL", DEFAULT_API_URL) or DEFAULT_API_URL
    return SlackSettings(
        bot_token=token,
        signing_secret=secret,
        app_token=app_token,
        channel=channel,
        command=command,
        api_url=api_url.rstrip("/") + "/",
        public_url=public_url,
        alertmanager_url=alertmanager_url,
    )


def _email_settings(env: _Env, public_url: str) -> EmailSettings | None:
    """EMAIL_*: email is on when EMAIL_SMTP_HOST is set (EMAIL_TO is read with the default route)."""
    host = env.str("EMAIL_SMTP_HOST")
    port = env.int("EMAIL_SMTP_PORT", 587, 1, 65535) or 587
    tls = env.choice("EMAIL_TLS", "starttls", TLS_MODES)
    username, password = env.str("EMAIL_USERNAME"), env.str("EMAIL_PASSWORD")
    sender = env.str("EMAIL_FROM")
    if host is None:
        return None
    if (username is None) != (password is None):
        raise SettingsError("EMAIL_USERNAME and EMAIL_PASSWORD: expected both to be set, or neither")
    if sender is None:
        raise SettingsError("EMAIL_FROM: expected the sender address (such as tocsin@example.com) with EMAIL_SMTP_HOST")
    try:
        check_address(sender, "EMAIL_FROM")
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return EmailSettings(
        smtp_host=host,
        smtp_port=port,
        username=username,
        password=password,
        from_addr=sender,
        tls=tls,
        public_url=public_url,
    )


def _oidc_settings(env: _Env) -> OidcSettings | None:
    """OIDC_*: single sign-on is on when OIDC_ISSUER is set."""
    issuer = env.url("OIDC_ISSUER")
    client_id, secret = env.str("OIDC_CLIENT_ID"), env.str("OIDC_CLIENT_SECRET")
    claim = env.str("OIDC_ROLE_CLAIM", "groups") or "groups"
    roles = _oidc_roles(env.str("OIDC_ROLES") or "")
    if issuer is None:
        return None
    if client_id is None:
        raise SettingsError("OIDC_CLIENT_ID: expected the client id registered at the provider, with OIDC_ISSUER")
    if not roles:
        raise SettingsError("OIDC_ROLES: expected groups mapped to roles such as ops=responder,leads=admin with "
                            "OIDC_ISSUER (nobody could sign in without it)")
    return OidcSettings(issuer, client_id, secret, claim, roles)


def _oidc_roles(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        group, _, role = item.rpartition("=")
        if not group.strip() or role.strip() not in ROLES:
            raise SettingsError(f"OIDC_ROLES: {item!r}: expected group=role with role viewer, responder or admin")
        pairs.append((group.strip(), role.strip()))
    return tuple(pairs)


def _delivery_settings(env: _Env) -> tuple[RetryPolicy, float]:
    """DELIVERY_GIVE_UP, the backoff (DELIVERY_RETRY_BASE doubling up to DELIVERY_RETRY_CAP) and DELIVERY_LEASE."""
    give_up = env.duration("DELIVERY_GIVE_UP", 86400.0)
    if give_up < 60:
        raise SettingsError(f"DELIVERY_GIVE_UP={give_up:g}s: expected at least 1m")
    base = env.duration("DELIVERY_RETRY_BASE", 2.0)
    cap = env.duration("DELIVERY_RETRY_CAP", 300.0)
    if not 0.01 <= base <= cap:
        raise SettingsError(f"DELIVERY_RETRY_BASE={base:g}s: expected at least 10ms and at most DELIVERY_RETRY_CAP")
    lease = env.duration("DELIVERY_LEASE", 120.0)
    if lease < 1:
        raise SettingsError(f"DELIVERY_LEASE={lease:g}s: expected at least 1s")
    return RetryPolicy(base=base, cap=cap, give_up=give_up), lease


def _check_origin(origin: str) -> str:
    if origin != "*" and not ORIGIN.match(origin.lower()):
        raise ValueError(f"{origin!r}: expected an origin such as https://ops.example.com (no path), or *")
    return origin


def _security_settings(env: _Env) -> SecuritySettings:
    """TRUSTED_PROXIES, CORS_ORIGINS, AUTH_FAILURE_LIMIT and AUTH_FAILURE_WINDOW."""
    proxies = env.checked_list("TRUSTED_PROXIES", lambda item: str(parse_networks([item])))
    listed = env.checked_list("CORS_ORIGINS", lambda origin: _check_origin(origin.rstrip("/")))
    origins = tuple(origin.lower().rstrip("/") for origin in listed)
    if "*" in origins and len(origins) > 1:
        raise SettingsError("CORS_ORIGINS: expected either * alone or a list of origins, not both")
    window = env.duration("AUTH_FAILURE_WINDOW", 600.0)
    if not 1 <= window <= 86400:
        raise SettingsError(f"AUTH_FAILURE_WINDOW={window:g}s: expected from 1s to 1d")
    limit = env.int("AUTH_FAILURE_LIMIT", 10, 1, 10_000) or 10
    return SecuritySettings(parse_networks(proxies), origins, ThrottlePolicy(limit, window))


def _timeout(env: _Env, name: str, default: float) -> float:
    seconds = env.duration(name, default)
    if not 1 <= seconds <= 3600:
        raise SettingsError(f"{name}={seconds:g}s: expected from 1s to 1h")
    return seconds


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; SettingsError names the first bad one."""
    env = _Env(os.environ if environ is None else environ)
    port = env.int("PORT", 8080, 1, 65535) or 8080
    cert = env.path("TLS_CERT_FILE", must_exist=True)
    key = env.path("TLS_KEY_FILE", must_exist=True)
    if (cert is None) != (key is None):
        raise SettingsError("TLS_CERT_FILE and TLS_KEY_FILE: expected both to be set, or neither")
    http = HttpSettings(
        host=env.str("HOST", "0.0.0.0") or "0.0.0.0",  # noqa: S104 - the documented default (HOST); containers need it
        port=port,
        public_url=env.url("PUBLIC_URL", f"http://localhost:{port}") or "",
        tls_cert_file=cert,
        tls_key_file=key,
        anonymous_read=env.bool("ANONYMOUS_READ", False),
        metrics_enabled=env.bool("METRICS_ENABLED", True),
        metrics_port=env.int("METRICS_PORT", None, 1, 65535),
        header_timeout=_timeout(env, "HTTP_HEADER_TIMEOUT", 10.0),
        body_timeout=_timeout(env, "HTTP_BODY_TIMEOUT", 60.0),
    )
    log = LogSettings(
        level=env.choice("LOG_LEVEL", "info", LEVELS), format=env.choice("LOG_FORMAT", "text", ("text", "json"))
    )
    max_open = env.int("DB_MAX_OPEN_CONNS", 10, 1, 1000) or 10
    database = DatabaseSettings(
        url=env.url("DATABASE_URL", schemes=("postgresql", "postgres")),
        max_open_conns=max_open,
        max_idle_conns=env.int("DB_MAX_IDLE_CONNS", 2, 0, max_open) or 0,
        conn_max_lifetime=env.duration("DB_CONN_MAX_LIFETIME", 300.0),
        data_dir=env.path("TOCSIN_DATA_DIR", Path("./tocsin-data")) or Path("./tocsin-data"),
    )
    webhook = WebhookSettings(
        token=env.str("WEBHOOK_TOKEN"),
        max_bytes=env.int("WEBHOOK_MAX_BYTES", 5_242_880, 1024, 2**30) or 0,
        max_wait=_max_wait(env),
    )
    config_path = env.path("TOCSIN_CONFIG")
    if config_path is None and Path("tocsin.yml").is_file():
        config_path = Path("tocsin.yml")
    alertmanager_url = env.url("ALERTMANAGER_URL")
    slack_channel = env.checked_list("SLACK_CHANNEL", check_slack_channel)
    if len(slack_channel) > 1:
        raise SettingsError("SLACK_CHANNEL: expected one Slack channel id such as C0123ABCD, not a list")
    channels = ChannelDefaults(
        slack_channel=slack_channel[0] if slack_channel else None,
        telegram_chats=env.checked_list("TELEGRAM_CHAT_ID", check_telegram_chat),
        email_to=env.checked_list("EMAIL_TO", check_email),
    )
    discord, mattermost = _chat_settings(env, http.public_url, alertmanager_url)
    channels = replace(channels, discord_channel=discord.channel_id if discord else None,
                       mattermost_channel=mattermost.channel_id if mattermost else None)
    email = _email_settings(env, http.public_url)
    delivery, lease = _delivery_settings(env)
    pagerduty, jira = _outgoing_settings(env)
    return Settings(
        http=http,
        oidc=_oidc_settings(env),
        log=log,
        database=database,
        webhook=webhook,
        security=_security_settings(env),
        channels=channels,
        config_path=config_path,
        config_watch=env.bool("TOCSIN_CONFIG_WATCH", False),
        alertmanager_url=alertmanager_url,
        slack=read_slack_settings(env, http.public_url, alertmanager_url),
        telegram=_telegram_settings(env, http.public_url, alertmanager_url),
        discord=discord,
        mattermost=mattermost,
        email=email,
        pagerduty=pagerduty,
        jira=jira,
        paging=_paging_settings(env, http.public_url),
        delivery=delivery,
        delivery_lease=lease,
        raw=dict(env.values),
    )
