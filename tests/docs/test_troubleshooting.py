"""docs/troubleshooting.md quotes what Tocsin really says: each quoted answer or log line is produced by
triggering its case against the real code (an app on a test database, the CLI, the stand-ins)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from nacl.signing import SigningKey
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.delivery import DeliveryWorker, SendResult
from bot.discord.settings import DiscordSettings
from bot.email.client import EmailChannel
from bot.mattermost.settings import MattermostSettings
from bot.outgoing import http as outgoing_http
from bot.outgoing.jira_api import JiraError
from bot.slack import client as slack_client
from bot.slack.handlers import Listeners, SlackPeople
from bot.slack.settings import SlackSettings
from bot.telegram.settings import TelegramSettings
from store import config_versions
from store.db import Database
from store.domain.config_schema import Config
from store.domain.incident import ActionSource
from store.migrate import expected_heads
from store.sql import config_versions as versions_sql
from tests.docs.markdown import ROOT, error_quotes
from tests.support.api import api_settings, bearer
from tests.support.chat_core import core_on
from tests.support.discord_api import DiscordApi
from tests.support.email_delivery import email_settings, started
from tests.support.escalation import CONFIG_DATA
from tests.support.incidents import EMAIL_ONLY, ROUTES, open_incident
from tests.support.smtp import SmtpSink, client_context, self_signed, server_context
from tests.support.telegram_api import FakeTelegramApi
from web import cli
from web.app import create_app
from web.settings import Settings
from web.settings_catalog import SETTINGS
from webhook.settings import WebhookSettings

QUOTES = error_quotes(ROOT / "docs" / "troubleshooting.md")
WEBHOOK = "/api/v1/webhooks/alertmanager"
TOKEN = "docs-webhook-token"


@dataclass(frozen=True)
class Fixtures:
    """What a case may use."""

    database_url: str
    db: Database
    monkeypatch: pytest.MonkeyPatch
    tmp_path: Path
    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture


def same(quoted: str, produced: str) -> None:
    """JSON is compared as values (key order and spacing aside); text must appear exactly."""
    if quoted.startswith("{"):
        assert json.loads(quoted) == json.loads(produced)
    else:
        assert quoted in produced, f"{quoted!r} not in {produced!r}"


async def _app_answer(settings: Settings, database_url: str, method: str, path: str, **kwargs: Any) -> str:
    app = create_app(settings, database_url)
    async with app.test_app():
        response = await app.test_client().open(path, method=method, **kwargs)
        return await response.get_data(as_text=True)


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
        monkeypatch.delenv(f"{setting.name}_FILE", raising=False)
    monkeypatch.chdir(tmp_path)


def test_every_case_is_checked() -> None:
    assert set(QUOTES) == set(CASES), "add a trigger for each quoted error (or remove the quote)"
    assert len(QUOTES) >= 10


@pytest.mark.parametrize("case", sorted(QUOTES))
async def test_quoted_text_is_what_tocsin_says(
    case: str, database_url: str, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = Fixtures(database_url, db, monkeypatch, tmp_path, capsys, caplog)
    produced = await CASES[case](ctx)
    same(QUOTES[case], produced)


async def _webhook(ctx: Fixtures, headers: dict[str, str], **kwargs: Any) -> str:
    url = ctx.database_url
    settings = replace(api_settings(url), webhook=WebhookSettings(token=TOKEN))
    return await _app_answer(settings, url, "POST", WEBHOOK, headers=headers, **kwargs)


async def webhook_missing_token(ctx: Fixtures) -> str:
    return await _webhook(ctx, {}, json={"version": "4"})


async def webhook_wrong_token(ctx: Fixtures) -> str:
    return await _webhook(ctx, {"Authorization": "Bearer not-the-token"}, json={"version": "4"})


async def webhook_form_encoded(ctx: Fixtures) -> str:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-www-form-urlencoded"}
    return await _webhook(ctx, headers, data="{}")


async def _check_config(ctx: Fixtures, env: dict[str, str], config: str | None = None) -> str:
    monkeypatch, tmp_path = ctx.monkeypatch, ctx.tmp_path
    _clean_env(monkeypatch, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if config is not None:
        (tmp_path / "tocsin.yml").write_text(config)
    assert cli.main(["check-config"]) == 1
    return ctx.capsys.readouterr().err


async def settings_slack_secret(ctx: Fixtures) -> str:
    return await _check_config(ctx, {"SLACK_BOT_TOKEN": "xoxb-1-2-3"})


async def config_unknown_policy(ctx: Fixtures) -> str:
    return await _check_config(ctx, {}, "routes:\n  - match: ['severity=\"critical\"']\n    escalation: default\n")


async def container_no_database(ctx: Fixtures) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_URL")}
    run = await asyncio.create_subprocess_exec(
        "sh", str(ROOT / "deploy" / "docker" / "entrypoint.sh"), "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(run.communicate(), 30)
    assert run.returncode == 64
    return stderr.decode()


async def slack_bad_signature(ctx: Fixtures) -> str:
    url = ctx.database_url
    caplog = ctx.caplog
    slack = SlackSettings(bot_token="xoxb-1-2-3", signing_secret="the-signing-secret", api_url="http://127.0.0.1:9/")
    headers = {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": "v0=0000",
               "Content-Type": "application/x-www-form-urlencoded"}
    with caplog.at_level(logging.INFO):
        body = await _app_answer(replace(api_settings(url), slack=slack), url, "POST", "/slack/events",
                                 headers=headers, data="command=%2Fincident&text=list")
    assert "Invalid request signature detected (signature: v0=0000, timestamp: 1700000000" in caplog.text
    return body


async def slack_not_in_channel(ctx: Fixtures) -> str:
    response = AsyncSlackResponse(client=None, http_verb="POST", api_url="chat.postMessage", req_args={},
                                  data={"ok": False, "error": "not_in_channel"}, headers={}, status_code=200)
    result = slack_client.failure("chat.postMessage", SlackApiError("refused", response))
    return await _settled("slack", result, ctx)


async def _settled(channel: str, result: SendResult, ctx: Fixtures, state: str = "retry") -> str:
    """The log line of the delivery worker recording a failed send (the outbox write stubbed: `state` is what
    the outbox says became of the message)."""
    monkeypatch, caplog = ctx.monkeypatch, ctx.caplog

    async def mark_retry(*_args: Any) -> str:
        return state

    monkeypatch.setattr("bot.delivery.deliveries.mark_retry", mark_retry)
    worker = DeliveryWorker(SimpleNamespace(dsn="postgresql://unused"), registry=None)  # type: ignore[arg-type]
    delivery = SimpleNamespace(channel=channel, id=5 if channel == "slack" else 12, incident_id=3, attempts=1)
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        await worker._settle(delivery, result)  # type: ignore[arg-type]
    return "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records)


async def telegram_webhook_set(ctx: Fixtures) -> str:
    return (await _telegram(ctx))[0]


async def telegram_wrong_secret(ctx: Fixtures) -> str:
    return (await _telegram(ctx))[1]


async def _telegram(ctx: Fixtures) -> tuple[str, str]:
    url = ctx.database_url
    caplog = ctx.caplog
    fake = await FakeTelegramApi(tokens=["123456:" + "A" * 30]).start()
    try:
        telegram = TelegramSettings(bot_token="123456:" + "A" * 30, webhook_secret="the-secret", api_url=fake.url,
                                    public_url="https://tocsin.example.com")
        headers = {"X-Telegram-Bot-Api-Secret-Token": "another-secret"}
        with caplog.at_level(logging.INFO):
            body = await _app_answer(replace(api_settings(url), telegram=telegram), url, "POST",
                                     "/telegram/webhook", headers=headers, json={"update_id": 1})
    finally:
        await fake.stop()
    log = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records)
    return log, body


async def slack_silence_off(ctx: Fixtures) -> str:
    listeners = Listeners(core_on(ctx.db), SlackPeople([]), SlackSettings(bot_token="xoxb-1"))
    return await listeners.run_command({"text": "silence 42", "user_id": "U1", "user_name": "alice"})


async def discord_bad_signature(ctx: Fixtures) -> str:
    url = ctx.database_url
    discord = DiscordSettings(bot_token="d" * 60, public_key=SigningKey.generate().verify_key.encode().hex(),
                              application_id="1" * 18, api_url="http://127.0.0.1:9/api/v10")
    api = DiscordApi()  # Discord's side: it signs with its own key, not the one Tocsin was given
    body, headers = api.signed({"type": 1, "id": "1", "application_id": "1" * 18})
    return await _app_answer(replace(api_settings(url), discord=discord), url, "POST", "/discord/interactions",
                             headers=headers, data=body)


async def mattermost_no_secret(ctx: Fixtures) -> str:
    url = ctx.database_url
    mattermost = MattermostSettings(url="http://127.0.0.1:9", bot_token="m" * 26, action_secret="s" * 32)
    click = {"user_id": "u" * 26, "user_name": "alice", "context": {"action": "ack", "incident_id": 1,
                                                                   "secret": "an-old-secret-0000"}}
    return await _app_answer(replace(api_settings(url), mattermost=mattermost), url, "POST", "/mattermost/actions",
                             json=click)


async def _api(ctx: Fixtures, role: str | None, method: str, path: str, **kwargs: Any) -> str:
    url = ctx.database_url
    db: Database = ctx.db
    headers = await bearer(db, role, name="dashboard") if role else {}
    return await _app_answer(api_settings(url), url, method, path, headers=headers, **kwargs)


async def api_silence_off(ctx: Fixtures) -> str:
    return await _api(ctx, "responder", "POST", "/api/v1/incidents/1/silence", json={"duration": "1h"})


async def api_missing_token(ctx: Fixtures) -> str:
    return await _api(ctx, None, "GET", "/api/v1/incidents")


async def api_viewer_writes(ctx: Fixtures) -> str:
    return await _api(ctx, "viewer", "POST", "/api/v1/incidents", json={"title": "x"})


async def email_auth(ctx: Fixtures) -> str:
    db: Database = ctx.db
    caplog = ctx.caplog
    certificate = self_signed(ctx.tmp_path)
    sink = SmtpSink(starttls=server_context(*certificate), credentials=("tocsin", "s3cret"))
    port = await sink.start()
    settings = email_settings(port, tls="starttls", username="tocsin", password="wrong")
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        worker = await started(db, EmailChannel(settings, tls_context=client_context(certificate[0])))
        try:
            await open_incident(db, routes=EMAIL_ONLY)
            for _ in range(300):  # bounded: 15 s
                if "(attempt 1)" in caplog.text:
                    break
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()
            await sink.stop()
    line = next(r for r in caplog.records if "(attempt 1)" in r.getMessage())
    text = f"{line.levelname} {line.name}: {line.getMessage()}"
    # The docs show a typical host and ids; the rest of the line is what the worker logged.
    text = text.replace(f"127.0.0.1:{port}", "smtp.example.com:587")
    return re.sub(r"delivery \d+ for incident #\d+", "delivery 12 for incident #3", text)


async def readyz_database(ctx: Fixtures) -> str:
    return (await _database_gone(ctx))[0]


async def webhook_database(ctx: Fixtures) -> str:
    return (await _database_gone(ctx))[1]


async def _database_gone(ctx: Fixtures) -> tuple[str, str]:
    """/readyz and the webhook of an app whose database went away after it started (a proxy is closed)."""
    async with ctx.db.connection() as conn:
        port = int(await conn.fetchval("SHOW port"))
    parts = urlsplit(ctx.database_url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    links: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def link(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if socket_dir:
            up_reader, up_writer = await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}")
        else:
            up_reader, up_writer = await asyncio.open_connection(parts.hostname, port)
        links.extend((writer, up_writer))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    proxy = await asyncio.start_server(link, "127.0.0.1", 0)
    user = f"{parts.username}:{parts.password or ''}@"
    proxied = f"postgresql://{user}127.0.0.1:{proxy.sockets[0].getsockname()[1]}{parts.path}"
    app = create_app(api_settings(proxied), proxied)
    body = json.loads((ROOT / "tests/fixtures/05_firing_from_prometheus.json").read_text())
    async with app.test_app():
        client = app.test_client()
        proxy.close()
        await proxy.wait_closed()
        for writer in links:
            writer.close()
        answers = []
        for _ in range(3):  # the pool notices its broken connections on first use
            ready = await client.get("/readyz")
            hook = await client.post(WEBHOOK, json=body)
            answers = [await ready.get_data(as_text=True), await hook.get_data(as_text=True)]
        assert ready.status_code == 503 and hook.status_code == 503 and hook.headers["Retry-After"] == "5"
    # The quote names one exception; which one a lost database raises depends on when it went.
    named = re.compile(r"\((\w+)\)")
    return named.sub("(ConnectionRefusedError)", answers[0]), named.sub("(ConnectionRefusedError)", answers[1])


async def readyz_migrations(ctx: Fixtures) -> str:
    url = ctx.database_url
    db: Database = ctx.db
    async with db.connection() as conn:
        await conn.execute("DELETE FROM alembic_version; INSERT INTO alembic_version VALUES ('0001')")
    answer = json.loads(await _app_answer(api_settings(url), url, "GET", "/readyz"))
    # The quoted answer names the migrations of the day it was written; the heads move with every release.
    assert answer["migrations"]["expected"] == sorted(expected_heads())
    answer["migrations"]["expected"] = json.loads(QUOTES["readyz-migrations"])["migrations"]["expected"]
    return json.dumps(answer)


async def chat_stranger(ctx: Fixtures) -> str:
    actions = core_on(ctx.db, config=Config(routes=ROUTES))  # the config's default: chat_strangers: read
    return (await actions.acknowledge(await open_incident(ctx.db, "strange"), "eve", ActionSource.SLACK)).text


async def readyz_config(ctx: Fixtures) -> str:
    url = ctx.database_url
    good = yaml.safe_dump(CONFIG_DATA)
    await config_versions.apply_text(ctx.db, good, "tocsin.yml", "alice", "cli")
    # Stored by a replica whose system knows a zone this one lacks (as the refused case stands for).
    schedules = [{**CONFIG_DATA["schedules"][0], "timezone": "Mars/Olympus_Mons"}]
    bad = yaml.safe_dump({**CONFIG_DATA, "schedules": schedules})
    async with ctx.db.transaction() as conn:
        await versions_sql.insert(conn, bad, config_versions.sha256(bad), "tocsin.yml", "bob", "cli",
                                  datetime.now(UTC))
    answer = json.loads(await _app_answer(api_settings(url), url, "GET", "/readyz"))
    assert answer["migrations"] == sorted(expected_heads())  # the quote names the heads of the day it was written
    answer["migrations"] = json.loads(QUOTES["readyz-config"])["migrations"]
    return json.dumps(answer, sort_keys=True)


Case = Callable[[Fixtures], Awaitable[str]]
async def pagerduty_unknown_key(ctx: Fixtures) -> str:
    event = {"routing_key": "9" * 32, "event_action": "trigger", "dedup_key": "k",
             "payload": {"summary": "s", "source": "x", "severity": "error"}}
    return await _app_answer(api_settings(ctx.database_url), ctx.database_url, "POST", "/v2/enqueue", json=event)


async def webhook_refused(ctx: Fixtures) -> str:
    result = outgoing_http.failed("webhook audit", outgoing_http.Answer(401, {}, "bad signature"), "opened (event 7)")
    return await _settled("webhook:audit", result, ctx)


async def config_jira_without_url(ctx: Fixtures) -> str:
    return await _check_config(ctx, {}, "routes:\n  - jira: {project: OPS, issue_type: Incident}\n")


async def jira_field_refused(ctx: Fixtures) -> str:
    body = {"errorMessages": [], "errors": {
        "priority": "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown."}}
    error = JiraError("creating the issue", outgoing_http.Answer(400, {}, body))
    return await _settled("jira", error.result(), ctx, state="failed")


CASES: dict[str, Case] = {
    "webhook-missing-token": webhook_missing_token,
    "webhook-wrong-token": webhook_wrong_token,
    "webhook-form-encoded": webhook_form_encoded,
    "settings-slack-secret": settings_slack_secret,
    "config-unknown-policy": config_unknown_policy,
    "container-no-database": container_no_database,
    "slack-bad-signature": slack_bad_signature,
    "slack-not-in-channel": slack_not_in_channel,
    "telegram-webhook-set": telegram_webhook_set,
    "telegram-wrong-secret": telegram_wrong_secret,
    "slack-silence-off": slack_silence_off,
    "discord-bad-signature": discord_bad_signature,
    "mattermost-no-secret": mattermost_no_secret,
    "api-silence-off": api_silence_off,
    "api-missing-token": api_missing_token,
    "api-viewer-writes": api_viewer_writes,
    "email-auth": email_auth,
    "readyz-database": readyz_database,
    "webhook-database": webhook_database,
    "readyz-migrations": readyz_migrations,
    "pagerduty-unknown-key": pagerduty_unknown_key,
    "webhook-refused": webhook_refused,
    "config-jira-without-url": config_jira_without_url,
    "jira-field-refused": jira_field_refused,
    "chat-stranger": chat_stranger,
    "readyz-config": readyz_config,
}
