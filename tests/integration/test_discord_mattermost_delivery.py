"""Discord and Mattermost in the real delivery worker with real outbox rows: a Discord that rate-limits and then
fails delays only Discord's messages; once it recovers, nothing is lost and the message shows the latest state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.delivery import ChannelRegistry, DeliveryWorker, WorkerSettings
from bot.discord.client import DiscordApi as DiscordClient
from bot.discord.client import DiscordChannel
from bot.discord.settings import DiscordSettings
from bot.mattermost.client import MattermostApi as MattermostClient
from bot.mattermost.client import MattermostChannel
from bot.mattermost.settings import MattermostSettings
from store.db import Database
from store.domain.delivery import RetryPolicy
from store.domain.routing import Route, RouteTable
from tests.support import discord_api, mattermost_api
from tests.support.incidents import act, open_incident, rows
from tests.support.waiting import eventually

FAST = WorkerSettings(retry=RetryPolicy(base=0.05, cap=0.3, give_up=3600), lease=60, idle_poll=1, stop_grace=0.5)
ROUTES = RouteTable(default=Route(id="default", discord_channel=discord_api.CHANNEL,
                                  mattermost_channel=mattermost_api.CHANNEL))


@pytest.fixture
async def standins() -> AsyncIterator[tuple[discord_api.DiscordApi, mattermost_api.MattermostApi]]:
    discord = await discord_api.DiscordApi().start()
    mattermost = await mattermost_api.MattermostApi().start()
    yield discord, mattermost
    await discord.stop()
    await mattermost.stop()


async def sent(db: Database, channel: str, kind: str = "open") -> bool:
    return any(r["channel"] == channel and r["kind"] == kind and r["state"] == "sent" for r in await rows(db))


async def test_a_rate_limited_then_failing_discord_delays_only_discords_messages(
    db: Database, standins: tuple[discord_api.DiscordApi, mattermost_api.MattermostApi]
) -> None:
    discord, mattermost = standins
    discord_settings = DiscordSettings(bot_token=discord_api.TOKEN, public_key=discord.public_key,
                                       application_id=discord_api.APPLICATION_ID, api_url=discord.api_url)
    mattermost_settings = MattermostSettings(url=mattermost.url, bot_token=mattermost_api.TOKEN,
                                             action_secret="s" * 32)
    discord_client, mattermost_client = DiscordClient(discord_settings), MattermostClient(mattermost_settings)
    registry = ChannelRegistry([DiscordChannel(discord_client, discord_settings),
                                MattermostChannel(mattermost_client, mattermost_settings)])
    discord.fail_next(1, 429, retry_after=1.5, global_=True)
    discord.fail_for(2.5, status=500)
    worker = DeliveryWorker(db, registry, FAST)
    await worker.start()
    try:
        incident_id = await open_incident(db, "outage", routes=ROUTES)
        await eventually(lambda: sent(db, "mattermost"), 10, "the Mattermost post, while Discord is away")
        assert not await sent(db, "discord") and discord.messages == {}
        await act(db, incident_id, "acknowledged", "alice")
        await eventually(lambda: sent(db, "mattermost", "update"), 10, "the Mattermost edit, while Discord is away")
        await eventually(lambda: sent(db, "discord"), 15, "the Discord message once Discord is back")
        (message,) = discord.messages.values()
        assert "Acknowledged by alice" in message["embeds"][0]["fields"][0]["value"]  # the latest state, once
        limited = [c for c in discord.calls if c.status == 429]
        assert len(limited) == 1  # held back while the global limit lasted, not hammered
        assert all(c.status < 300 for c in mattermost.calls)
    finally:
        await worker.stop()
        await discord_client.close()
        await mattermost_client.close()
