"""No secret setting ever shows: every one set to a unique marker, a real `tocsin serve` is taken through
start, webhooks (right and wrong tokens), a failing Slack send, a failing SMTP login, Telegram's webhook,
the dashboard, the API, /metrics, shutdown and a bad config file; no marker may appear in any log line,
HTTP answer, page, metric or outbox error."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.conftest import load_sample
from tests.support import discord_api, mattermost_api
from tests.support.chat_stack import BackgroundLoop, wait_for
from tests.support.discord_api import DiscordApi
from tests.support.mattermost_api import MattermostApi
from tests.support.server import ROOT, TocsinProcess, tocsin_env
from tests.support.slack_api import SlackApi
from tests.support.smtp import SmtpSink, self_signed, server_context
from tests.support.telegram_api import FakeTelegramApi
from web.settings_catalog import SECRET_NAMES

SHAPES = {  # what each secret's value must look like to be accepted
    "SLACK_BOT_TOKEN": "xoxb-{}", "SLACK_TOKEN": "xoxb-{}", "SLACK_APP_TOKEN": "xapp-{}",
    "TELEGRAM_BOT_TOKEN": "123456789:{}", "DISCORD_BOT_TOKEN": "{}.discord-token-needs-fifty-characters-or-more",
}
CONFIG = ("routes:\n  - slack_channel: C0LEAK\n    telegram_chat: '-1001'\n    email: [ops@example.com]\n"
          f"    discord_channel: '{discord_api.CHANNEL}'\n    mattermost_channel: {mattermost_api.CHANNEL}\n")
BAD_CONFIG = "routes:\n  - escalation: nowhere\n"


@dataclass
class Seen:
    """Everything Tocsin showed anyone, by where it was seen."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, where: str, text: str) -> None:
        self.texts[where] = self.texts.get(where, "") + text

    def leaks(self, markers: dict[str, str]) -> list[str]:
        return [f"{name} in {where}" for where, text in self.texts.items()
                for name, marker in markers.items() if marker in text]


@dataclass
class World:
    loop: BackgroundLoop
    slack: SlackApi
    telegram: FakeTelegramApi
    smtp: SmtpSink
    discord: DiscordApi
    mattermost: MattermostApi
    cert: Path
    marks: dict[str, str]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    cert, key = self_signed(tmp_path)
    marks = markers()
    loop = BackgroundLoop()
    slack = SlackApi(token="xoxb-the-token-slack-expects")  # ours is another: every send fails (invalid_auth)
    telegram = FakeTelegramApi(tokens=[SHAPES["TELEGRAM_BOT_TOKEN"].format(marks["TELEGRAM_BOT_TOKEN"])])
    smtp = SmtpSink(starttls=server_context(cert, key), credentials=("tocsin", "the-password-smtp-expects"))
    discord, mattermost = DiscordApi(), MattermostApi()
    servers = (slack, telegram, smtp, discord, mattermost)
    for server in servers:
        loop.run(server.start())
    yield World(loop, slack, telegram, smtp, discord, mattermost, cert, marks)
    for server in servers:
        loop.run(server.stop())
    loop.close()


# Secrets whose form is checked at start: a marker of that form (still unique and searchable).
MARK_FORMS = {"TWILIO_AUTH_TOKEN": lambda index: uuid.uuid4().hex,
              "PUSHOVER_APP_TOKEN": lambda index: f"LEAK{uuid.uuid4().hex[:26]}",
              "ACTION_LINK_KEY": lambda index: f"LEAK{index}{uuid.uuid4().hex}"}
# JIRA_PAT (Data Center) and JIRA_API_TOKEN (Cloud) exclude each other: the Cloud one is set here.
NOT_SET = {"JIRA_PAT"}


def markers() -> dict[str, str]:
    """A unique marker for every secret the catalog declares (but one of two that exclude each other)."""
    return {name: MARK_FORMS.get(name, lambda index: f"LEAK{index}{uuid.uuid4().hex[:24]}")(index)
            for index, name in enumerate(SECRET_NAMES) if name not in NOT_SET}


def environment(database_url: str, marks: dict[str, str], world: World, config: Path) -> dict[str, str]:
    parts = urlsplit(database_url)  # the test server trusts local connections: any password reaches it
    netloc = f"{parts.username or 'postgres'}:{marks['DATABASE_URL']}@{parts.netloc.rpartition('@')[2]}"
    secrets = {name: SHAPES.get(name, "{}").format(mark) for name, mark in marks.items() if name != "DATABASE_URL"}
    env = tocsin_env(
        database_url, **secrets, TOCSIN_CONFIG=str(config),
        SLACK_API_URL=world.slack.api_url, SLACK_CHANNEL="C0LEAK", TELEGRAM_API_URL=world.telegram.url,
        TELEGRAM_CHAT_ID="-1001", EMAIL_SMTP_HOST="127.0.0.1", EMAIL_SMTP_PORT=str(world.smtp.port),
        EMAIL_TLS="starttls", EMAIL_USERNAME="tocsin", EMAIL_FROM="tocsin@example.com", EMAIL_TO="ops@example.com",
        DISCORD_PUBLIC_KEY=world.discord.public_key, DISCORD_APPLICATION_ID=discord_api.APPLICATION_ID,
        DISCORD_CHANNEL_ID=discord_api.CHANNEL, DISCORD_API_URL=world.discord.api_url,
        MATTERMOST_URL=world.mattermost.url, MATTERMOST_CHANNEL_ID=mattermost_api.CHANNEL,
        SSL_CERT_FILE=str(world.cert), DELIVERY_RETRY_BASE="200ms", DELIVERY_RETRY_CAP="1s",
        # The companions of the other secrets, on loopback ports nothing listens on (nothing is sent there).
        JIRA_URL="http://127.0.0.1:9", JIRA_EMAIL="tocsin@example.com", NTFY_URL="http://127.0.0.1:9",
        PUSHOVER_API_URL="http://127.0.0.1:9", TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_FROM="+14155550100",
        TWILIO_API_URL="http://127.0.0.1:9", OIDC_ISSUER="http://127.0.0.1:9/realms/ops", OIDC_CLIENT_ID="tocsin",
        OIDC_ROLES="ops=responder",
    )
    env["DATABASE_URL"] = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    env["LOG_LEVEL"] = "debug"  # the most any library says
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`tocsin ARGS` in this environment, to completion."""
    return subprocess.run([sys.executable, "-m", "web.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def fetch(seen: Seen, where: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
          method: str | None = None) -> tuple[int, str]:
    """One HTTP request; its status and body, both kept (with the headers) as seen."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, text, answer_headers = response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        status, text, answer_headers = error.code, error.read().decode(), error.headers
    seen.add(where, f"{status}\n{answer_headers}\n{text}")
    return status, text


async def outbox_errors(database_url: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT channel, last_error FROM deliveries WHERE last_error IS NOT NULL")
    finally:
        await conn.close()
    return [(r["channel"], r["last_error"]) for r in rows]


def test_no_secret_reaches_logs_answers_pages_metrics_or_the_outbox(
    database_url: str, tmp_path: Path, world: World
) -> None:
    marks = world.marks
    assert set(marks) >= {"WEBHOOK_TOKEN", "DATABASE_URL", "EMAIL_PASSWORD", "SLACK_SIGNING_SECRET"}
    config = tmp_path / "tocsin.yml"
    config.write_text(CONFIG)
    env = environment(database_url, marks, world, config)
    webhook_token = env["WEBHOOK_TOKEN"]
    seen = Seen()
    server = TocsinProcess(env, tmp_path / "tocsin.log").start()
    try:
        url = server.url
        body = json.dumps(load_sample("05_firing_from_prometheus.json")).encode()
        json_type = {"Content-Type": "application/json"}
        status, text = fetch(seen, "webhook", url + "/api/v1/webhooks/alertmanager", body,
                             {**json_type, "Authorization": f"Bearer {webhook_token}"})
        assert status == 200, text
        incident = json.loads(text)["incidents"][0]
        status, _ = fetch(seen, "webhook refused", url + "/api/v1/webhooks/alertmanager", body,
                          {**json_type, "Authorization": f"Bearer {webhook_token}x"})
        assert status == 401
        for secret in (env["TELEGRAM_WEBHOOK_SECRET"], "wrong-secret"):
            fetch(seen, "telegram webhook", url + "/telegram/webhook",
                  json.dumps({"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": -1001,
                             "type": "group"}, "text": "/help"}}).encode(),
                  {**json_type, "X-Telegram-Bot-Api-Secret-Token": secret})

        def both_failed() -> list[tuple[str, str]] | None:
            errors = asyncio.run(outbox_errors(database_url))
            failed = {channel for channel, _ in errors}
            return errors if {"slack", "email", "discord", "mattermost"} <= failed else None

        errors = wait_for(both_failed, 60, "the Slack, Discord and Mattermost sends and the SMTP login to fail")
        seen.add("outbox errors", "\n".join(f"{c}: {e}" for c, e in errors))
        assert any("invalid_auth" in e for c, e in errors if c == "slack")
        assert any("535" in e for c, e in errors if c == "email")  # the SMTP server refused the login

        created = cli(env, "token", "create", "--name", "leak-viewer", "--role", "viewer")
        seen.add("token create (stderr)", created.stderr)
        viewer = created.stdout.strip()
        cookie = {"Cookie": f"tocsin_session={viewer}"}
        bearer = {"Authorization": f"Bearer {viewer}"}
        for path in ("/", f"/incidents/{incident}", "/login"):
            status, _ = fetch(seen, f"page {path}", url + path, headers=cookie)
            assert status == 200, path
        for path in ("/api/v1/incidents", f"/api/v1/incidents/{incident}", "/api/v1/alerts", "/api/v1/stats",
                     "/api/v1/oncall", "/api/v1/openapi.json", "/readyz", "/healthz", "/metrics"):
            status, _ = fetch(seen, f"answer {path}", url + path, headers=bearer)
            assert status == 200, path
        fetch(seen, "api refused", url + "/api/v1/incidents", headers={"Authorization": "Bearer nope"})
    finally:
        assert server.stop(signal.SIGTERM) == 0
    log = server.log()
    assert "Slack" in log or "slack" in log
    seen.add("server log", log)

    config.write_text(BAD_CONFIG)
    check = cli(env, "check-config")
    assert check.returncode == 1 and "nowhere" in check.stderr
    seen.add("check-config", check.stdout + check.stderr)
    refused = cli(env, "serve")
    assert refused.returncode != 0 and "nowhere" in refused.stdout + refused.stderr
    seen.add("serve with a bad config", refused.stdout + refused.stderr)

    assert seen.leaks(marks) == []
