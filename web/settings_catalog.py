"""Every setting Tocsin reads, declared once: the reader refuses any other name, docs/settings.md is made from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Setting:
    """One environment variable: its default as shown to people, what it means, whether it is a secret."""

    name: str
    default: str
    meaning: str
    group: str
    secret: bool = False


GROUPS = ("HTTP", "Security", "Single sign-on", "Logging", "Database", "Config file", "Alertmanager",
          "Default route", "Email", "Delivery", "Slack", "Telegram", "Discord", "Mattermost", "Integrations", "Paging")

SETTINGS: tuple[Setting, ...] = (
    Setting("HOST", "`0.0.0.0`", "address to listen on", "HTTP"),
    Setting("PORT", "`8080`", "port to listen on (1-65535)", "HTTP"),
    Setting("PUBLIC_URL", "`http://localhost:PORT`", "base URL people reach Tocsin at, for links in messages; "
            "Telegram's webhook is `PUBLIC_URL/telegram/webhook`", "HTTP"),
    Setting("TLS_CERT_FILE", "unset", "PEM certificate file: HTTPS when set together with `TLS_KEY_FILE`", "HTTP"),
    Setting("TLS_KEY_FILE", "unset", "PEM private key file of `TLS_CERT_FILE`", "HTTP"),
    Setting("ANONYMOUS_READ", "`false`", "let the dashboard and the GET API be read without a token", "HTTP"),
    Setting("METRICS_ENABLED", "`true`", "serve Prometheus metrics at `/metrics`", "HTTP"),
    Setting("METRICS_PORT", "unset", "serve `/metrics` on this port instead of the main one", "HTTP"),
    Setting("HTTP_HEADER_TIMEOUT", "`10s`", "a client must send a request's whole head (line and headers) within "
            "this of its first byte (of opening the connection, for the first request); else the connection is "
            "closed", "HTTP"),
    Setting("HTTP_BODY_TIMEOUT", "`60s`", "a client must send a request's whole body within this of its head; "
            "else the connection is closed",
            "HTTP"),
    Setting("TRUSTED_PROXIES", "unset", "comma-separated addresses or CIDRs of your proxies (`10.0.0.0/8,::1`): "
            "from them, the client's address is read from `X-Forwarded-For`; else the peer's address is used",
            "Security"),
    Setting("CORS_ORIGINS", "unset: no CORS", "comma-separated origins (`https://ops.example.com`) whose pages may "
            "call the REST API from a browser with a bearer token, or `*` for any", "Security"),
    Setting("AUTH_FAILURE_LIMIT", "`10`", "failed authentications one client address (IPv6: its /64) may make "
            "within `AUTH_FAILURE_WINDOW`; after that it gets 429 `too_many_failures` until the window ends (1-10000)",
            "Security"),
    Setting("AUTH_FAILURE_WINDOW", "`10m`", "the window of `AUTH_FAILURE_LIMIT`, from the address's first failure "
            "(1s to 1d)", "Security"),
    Setting("OIDC_ISSUER", "unset", "OpenID Connect issuer URL (`https://id.example.com/realms/ops`); the "
            "dashboard offers single sign-on when it is set (its discovery document is read from "
            "`ISSUER/.well-known/openid-configuration`)", "Single sign-on"),
    Setting("OIDC_CLIENT_ID", "unset", "the client id registered at the provider; required with `OIDC_ISSUER`; the "
            "redirect URI to register is `PUBLIC_URL/auth/oidc/callback`", "Single sign-on"),
    Setting("OIDC_CLIENT_SECRET", "unset", "the client's secret (unset: a public client, PKCE only)",
            "Single sign-on", secret=True),
    Setting("OIDC_ROLE_CLAIM", "`groups`", "the ID token claim holding the person's groups (a list or one text)",
            "Single sign-on"),
    Setting("OIDC_ROLES", "unset", "groups to roles, `group=role,…` (`ops=responder,sre-leads=admin,staff=viewer`); "
            "the highest role of a person's groups applies, and someone in none of them is refused",
            "Single sign-on"),
    Setting("LOG_LEVEL", "`info`", "`debug`, `info`, `warning`, `error` or `critical`", "Logging"),
    Setting("LOG_FORMAT", "`text`", "`text`, or `json` for one JSON object per line", "Logging"),
    Setting("DATABASE_URL", "unset: embedded PostgreSQL", "`postgresql://user:password@host:5432/db`", "Database",
            secret=True),
    Setting("DB_MAX_OPEN_CONNS", "`10`", "connections in the pool at most (1-1000)", "Database"),
    Setting("DB_MAX_IDLE_CONNS", "`2`", "idle connections kept (at most `DB_MAX_OPEN_CONNS`)", "Database"),
    Setting("DB_CONN_MAX_LIFETIME", "`300s`", "a connection is replaced after this long", "Database"),
    Setting("TOCSIN_DATA_DIR", "`./tocsin-data`", "where the embedded PostgreSQL keeps its files", "Database"),
    Setting("TOCSIN_CONFIG", "`tocsin.yml` if present", "the config file: users, schedules, escalation policies, "
            "routes ([configuration.md](configuration.md)); `tocsin serve` stores it as a new config version when "
            "it was edited", "Config file"),
    Setting("TOCSIN_CONFIG_WATCH", "`false`", "look at the config file every 5 s and apply it when it changed "
            "(as `tocsin config apply` does; a bad file changes nothing and is logged)", "Config file"),
    Setting("WEBHOOK_TOKEN", "unset", "bearer token Alertmanager must send; unset = open, with a warning at start",
            "Alertmanager", secret=True),
    Setting("WEBHOOK_MAX_BYTES", "`5242880`", "largest webhook body accepted (413 above it)", "Alertmanager"),
    Setting("WEBHOOK_MAX_WAIT", "`5s`", "longest a webhook waits to be stored: past it, `503` with `Retry-After` and "
            "nothing stored, so Alertmanager sends it again later", "Alertmanager"),
    Setting("ALERTMANAGER_URL", "unset", "Alertmanager's base URL, for silences (buttons, `/incident silence`, "
            "the API) and links", "Alertmanager"),
    Setting("SLACK_CHANNEL", "unset", "the default route's Slack channel id (`C0123ABCD`)", "Default route"),
    Setting("TELEGRAM_CHAT_ID", "unset", "the default route's Telegram chats, comma-separated (`-1001234567890`, "
            "or `-1001234567890:42` for a forum topic); also the chats whose members may act", "Default route"),
    Setting("EMAIL_TO", "unset", "the default route's email addresses, comma-separated", "Default route"),
    Setting("DISCORD_CHANNEL_ID", "unset", "the default route's Discord channel id (a number)", "Default route"),
    Setting("MATTERMOST_CHANNEL_ID", "unset", "the default route's Mattermost channel id (26 characters)",
            "Default route"),
    Setting("EMAIL_SMTP_HOST", "unset", "SMTP server; email is on when it is set", "Email"),
    Setting("EMAIL_SMTP_PORT", "`587`", "SMTP port", "Email"),
    Setting("EMAIL_USERNAME", "unset", "SMTP login (with `EMAIL_PASSWORD`, both or neither)", "Email"),
    Setting("EMAIL_PASSWORD", "unset", "SMTP password", "Email", secret=True),
    Setting("EMAIL_FROM", "unset", "sender address; required with `EMAIL_SMTP_HOST`", "Email"),
    Setting("EMAIL_TLS", "`starttls`", "`starttls`, `tls` (implicit TLS, usually port 465) or `none`", "Email"),
    Setting("DELIVERY_GIVE_UP", "`24h`", "a message still unsent after this is marked failed (at least `1m`)",
            "Delivery"),
    Setting("DELIVERY_RETRY_BASE", "`2s`", "wait before the first retry of a failed send; it doubles on each "
            "further failure (with jitter), up to `DELIVERY_RETRY_CAP`; a `Retry-After` wins", "Delivery"),
    Setting("DELIVERY_RETRY_CAP", "`5m`", "longest wait between two attempts of one message", "Delivery"),
    Setting("DELIVERY_LEASE", "`2m`", "how long a replica's claim on a message it is sending lasts; if the replica "
            "dies, another sends the message once the claim expires (at least `1s`)", "Delivery"),
    Setting("SLACK_BOT_TOKEN", "unset", "`xoxb-…` bot token; Slack is on when it is set", "Slack", secret=True),
    Setting("SLACK_TOKEN", "unset", "alias of `SLACK_BOT_TOKEN`, read when that is unset", "Slack", secret=True),
    Setting("SLACK_SIGNING_SECRET", "unset", "checks that requests to `/slack/events` come from Slack; required "
            "unless `SLACK_APP_TOKEN` is set", "Slack", secret=True),
    Setting("SLACK_APP_TOKEN", "unset", "`xapp-…` app-level token: Socket Mode instead of `POST /slack/events`",
            "Slack", secret=True),
    Setting("SLACK_COMMAND", "`/incident`", "the slash command's name", "Slack"),
    Setting("SLACK_API_URL", "`https://slack.com/api/`", "Slack Web API base URL (proxies, tests)", "Slack"),
    Setting("TELEGRAM_BOT_TOKEN", "unset", "token from @BotFather; Telegram is on when it is set", "Telegram",
            secret=True),
    Setting("TELEGRAM_WEBHOOK_SECRET", "unset", "when set, updates arrive at `POST /telegram/webhook` (Tocsin calls "
            "`setWebhook` with `PUBLIC_URL`); else one replica long-polls", "Telegram", secret=True),
    Setting("TELEGRAM_API_URL", "`https://api.telegram.org`", "Bot API base URL (a local Bot API server, tests)",
            "Telegram"),
    Setting("DISCORD_BOT_TOKEN", "unset", "the bot's token (Developer Portal, Bot); Discord is on when it is set",
            "Discord", secret=True),
    Setting("DISCORD_PUBLIC_KEY", "unset", "the application's public key, hex (General Information); checks that "
            "requests to `/discord/interactions` come from Discord; required with the token", "Discord"),
    Setting("DISCORD_APPLICATION_ID", "unset", "the application's id (General Information); required with the "
            "token", "Discord"),
    Setting("DISCORD_API_URL", "`https://discord.com/api/v10`", "Discord API base URL (proxies, tests)", "Discord"),
    Setting("MATTERMOST_URL", "unset", "the Mattermost server's URL (`https://chat.example.com`)", "Mattermost"),
    Setting("MATTERMOST_BOT_TOKEN", "unset", "the bot account's access token; Mattermost is on when it is set",
            "Mattermost", secret=True),
    Setting("MATTERMOST_ACTION_SECRET", "unset", "a random secret (at least 16 characters) that the buttons carry "
            "and `/mattermost/actions` checks; required with the token", "Mattermost", secret=True),
    Setting("MATTERMOST_COMMAND_TOKEN", "unset", "the `/incident` slash command's token, checked at "
            "`/mattermost/command`; unset: the command is refused", "Mattermost", secret=True),
    Setting("PAGERDUTY_EVENTS_URL", "`https://events.pagerduty.com/v2/enqueue`", "where routes with a `pagerduty` "
            "key send their incidents (PagerDuty's Events API v2; `https://events.eu.pagerduty.com/v2/enqueue` for "
            "an EU account)", "Integrations"),
    Setting("JIRA_URL", "unset", "Jira's base URL (`https://example.atlassian.net`, or a Data Center's); needed by "
            "routes with a `jira` key", "Integrations"),
    Setting("JIRA_EMAIL", "unset", "Jira Cloud: the email address of the account Tocsin acts as (with "
            "`JIRA_API_TOKEN`)", "Integrations"),
    Setting("JIRA_API_TOKEN", "unset", "Jira Cloud: an API token of that account", "Integrations", secret=True),
    Setting("JIRA_PAT", "unset", "Jira Data Center: a personal access token (instead of `JIRA_EMAIL` and "
            "`JIRA_API_TOKEN`)", "Integrations", secret=True),
    Setting("ACTION_LINK_KEY", "unset", "random secret (at least 32 characters) that signs one-tap acknowledge and "
            "resolve links in pushes, texts and mails; required when ntfy, Pushover or Twilio is on", "Paging",
            secret=True),
    Setting("NTFY_URL", "unset", "the ntfy server (`https://ntfy.sh` or your own); push through ntfy is on when it "
            "is set", "Paging"),
    Setting("NTFY_TOKEN", "unset", "ntfy access token (`tk_…`), for a server or topic that needs one", "Paging",
            secret=True),
    Setting("PUSHOVER_APP_TOKEN", "unset", "the Pushover application's API token; Pushover is on when it is set",
            "Paging", secret=True),
    Setting("PUSHOVER_API_URL", "`https://api.pushover.net`", "Pushover API base URL (proxies, tests)", "Paging"),
    Setting("TWILIO_ACCOUNT_SID", "unset", "Twilio Account SID (`AC…`); SMS and voice through Twilio are on when "
            "it is set", "Paging"),
    Setting("TWILIO_AUTH_TOKEN", "unset", "Twilio Auth Token: authenticates Tocsin's calls and checks "
            "`X-Twilio-Signature` on `/twilio/sms` and `/twilio/voice`; required with the SID", "Paging",
            secret=True),
    Setting("TWILIO_FROM", "unset", "the Twilio number texts and calls come from, E.164 (`+14155550100`); required "
            "with the SID", "Paging"),
    Setting("TWILIO_API_URL", "`https://api.twilio.com`", "Twilio REST API base URL (proxies, tests)", "Paging"),
)

BY_NAME = {s.name: s for s in SETTINGS}
SECRET_NAMES = tuple(s.name for s in SETTINGS if s.secret)


def declared(name: str) -> Setting:
    """The declaration of a setting; KeyError for a name nobody declared (so it cannot go undocumented)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"setting {name} is not declared in web/settings_catalog.py") from None
