"""The dashboard shows maintenance windows (the config's and those made through the API or chat) and which
incidents are quiet: in maintenance or flapping."""

from __future__ import annotations

import re
from datetime import timedelta

from store import maintenance
from store.db import Database
from tests.support.api import api_settings
from tests.support.escalation import Clock
from tests.support.oncall import T0, alert, ingest, oncall_config
from web.app import create_app

CONFIG = oncall_config(maintenance=[{"id": "saturday-db", "match": ['service="db"', 'env="prod"'],
                                     "weekly": "Sat 02:00", "duration": "2h", "timezone": "Europe/Berlin"}])


async def test_windows_in_force_and_to_come_and_the_quiet_incidents(database_url: str, db: Database) -> None:
    await maintenance.create(db, ['service="db"'], T0 - timedelta(minutes=30), T0 + timedelta(hours=1), "alice",
                             comment="disk <swap>", now=T0)
    await maintenance.create(db, ['service="web"'], T0 - timedelta(hours=3), T0 - timedelta(hours=2), "alice",
                             now=T0 - timedelta(hours=3))  # over: not shown
    (quiet,) = await ingest(db, CONFIG, T0, [alert("f1", {"service": "db"}, T0)])
    (loud,) = await ingest(db, CONFIG, T0, [alert("f2", {"service": "api"}, T0)], group="Api")
    app = create_app(api_settings(database_url, anonymous_read=True), database_url, config=CONFIG)
    async with app.test_app():
        app.extensions["tocsin"].clock = Clock(T0 + timedelta(minutes=5))
        client = app.test_client()
        listing = (await (await client.get("/")).get_data()).decode()
        page = (await (await client.get(f"/incidents/{quiet}")).get_data()).decode()
        other = (await (await client.get(f"/incidents/{loud}")).get_data()).decode()
    windows = re.findall(r'<li data-window="([^"]+)"><span class="badge (\w+)">', listing)
    assert windows == [("mw-1", "quiet"), ("saturday-db", "planned")]
    assert "<code>service=&#34;db&#34;, env=&#34;prod&#34;</code>" in listing
    assert ": disk &lt;swap&gt;</li>" in listing and "mw-2" not in listing
    rows = dict(re.findall(r'<tr data-id="(\d+)">(.*?)</tr>', listing, re.S))
    assert 'title="maintenance window mw-1">in maintenance</span>' in rows[str(quiet)]
    assert "in maintenance" not in rows[str(loud)]
    assert "in maintenance window mw-1: no pages" in page and "in maintenance window" not in other


async def test_no_window_no_section(database_url: str) -> None:
    app = create_app(api_settings(database_url, anonymous_read=True), database_url, config=oncall_config())
    async with app.test_app():
        listing = (await (await app.test_client().get("/")).get_data()).decode()
    assert "Maintenance windows" not in listing
