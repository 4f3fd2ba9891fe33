"""The dashboard's SLA badges, checklist, SLA report page, post-mortem pages (hostile Markdown rendered inert)
and the list of incidents awaiting a review, through Quart's test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from store import lifecycle, postmortems, templates
from store.db import Database
from store.domain.config_schema import parse_config
from store.domain.incident import ActionSource
from store.tokens import create_token
from tests.integration.test_dashboard import cookie_header, sign_in, text
from tests.support.api import running_app, seed_incident

CONFIG = parse_config({
    "templates": [{"id": "db-failover", "title": "Database failover", "checklist": ["Freeze deploys", "Promote"],
                   "runbooks": ["https://wiki.example/db", "javascript:alert(1)"][:1]}],
    "sla": {"critical": {"ack": "5m", "resolve": "4h"}},
})
HOSTILE = ("# Review\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n<img src=x onerror=alert(3)>\n\n"
           "## Action items\n\n- [ ] Add an alert @carol\n")


async def signed_in(client: Any, db: Database) -> dict[str, str]:
    _, token = await create_token(db, "reader", "viewer")
    return cookie_header((await sign_in(client, token)).headers["Set-Cookie"])


async def test_sla_badges_and_the_checklist_on_the_pages(database_url: str, db: Database) -> None:
    now = datetime.now(UTC)
    late = await seed_incident(db, severity="critical", created_at=now - timedelta(minutes=9),
                               triggered_at=now - timedelta(minutes=9), title="Late one")
    start = templates.opening(CONFIG, "db-failover", None, "critical", None)
    opened = await lifecycle.open_manual(db, start.title, start.severity, "", "alice", ActionSource.API,
                                         template=start.template)
    await templates.check(db, opened.incident.id, 1, True, "bob", ActionSource.SLACK)
    async with running_app(database_url, CONFIG) as (_, client):
        cookie = await signed_in(client, db)
        listing = await text(await client.get("/", headers=cookie))
        row = re.search(rf'<tr data-id="{late}">.*?</tr>', listing, re.S).group(0)
        assert re.search(r"ack breached 4m \d+s ago", row)
        fresh = re.search(rf'<tr data-id="{opened.incident.id}">.*?</tr>', listing, re.S).group(0)
        assert re.search(r"ack in (4m \d+s|5m 0s)", fresh)
        page = await text(await client.get(f"/incidents/{opened.incident.id}", headers=cookie))
    assert 'data-sla="ack">within 5m' in page and 'data-sla="resolve">within 4h' in page
    assert "1 of 2 done" in page
    assert re.search(r'<li class="done">.*Freeze deploys.*bob', page, re.S)
    assert '<a href="https://wiki.example/db" rel="noreferrer">Runbook: https://wiki.example/db</a>' in page


async def test_the_sla_report_page_and_its_csv(database_url: str, db: Database) -> None:
    now = datetime.now(UTC)
    await seed_incident(db, severity="critical", status="resolved", created_at=now - timedelta(days=2),
                        triggered_at=now - timedelta(days=2), acknowledged_at=now - timedelta(days=2, minutes=-2),
                        resolved_at=now - timedelta(days=1))
    async with running_app(database_url, CONFIG) as (_, client):
        assert (await client.get("/reports/sla")).status_code == 303  # sign in first
        cookie = await signed_in(client, db)
        page = await text(await client.get("/reports/sla?group_by=severity&period=7d", headers=cookie))
        assert re.search(r"<th scope=.row.>critical</th>\s*<td>1</td>\s*<td>100.0 %", page)
        assert 'id="sla-chart-data"' in page and "/dashboard/static/sla_chart.js" in page
        csv_text = await text(await client.get("/reports/sla.csv?group_by=severity&period=7d", headers=cookie))
        assert csv_text.splitlines()[1].startswith("group,critical,1,1,0,100.0,0,1,0.0,1,")
        bad = await client.get("/reports/sla?group_by=planet", headers=cookie)
        assert bad.status_code == 422 and "group_by" in await text(bad)


async def test_a_hostile_post_mortem_renders_inert_and_is_listed_until_published(database_url: str,
                                                                                 db: Database) -> None:
    incident_id = await seed_incident(db, severity="critical", status="resolved", title="<b>Disk</b> full",
                                      resolved_at=datetime.now(UTC))
    async with running_app(database_url, CONFIG) as (_, client):
        cookie = await signed_in(client, db)
        awaiting = await text(await client.get("/postmortems", headers=cookie))
        assert f'<tr data-id="{incident_id}">' in awaiting and "not started" in awaiting
        draft = await text(await client.get(f"/incidents/{incident_id}/postmortem", headers=cookie))
        assert "not saved yet" in draft and "&lt;b&gt;Disk&lt;/b&gt; full" in draft
        await postmortems.save(db, incident_id, 0, "draft", HOSTILE, "alice", ActionSource.API)
        page = await text(await client.get(f"/incidents/{incident_id}/postmortem", headers=cookie))
        article = page.split('<article class="review card"', 1)[1].split("</article>", 1)[0]
        assert "<script" not in article and "href=\"javascript" not in article and "<img" not in article, article
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in article  # shown as text
        assert "Add an alert @carol" in page
        listed = await text(await client.get("/postmortems", headers=cookie))
        assert "draft by alice" in listed
        await postmortems.save(db, incident_id, 1, "published", HOSTILE, "alice", ActionSource.API)
        assert f'<tr data-id="{incident_id}">' not in await text(await client.get("/postmortems", headers=cookie))
        exported = await client.get(f"/incidents/{incident_id}/postmortem.md", headers=cookie)
        assert exported.headers["Content-Type"] == "text/markdown; charset=utf-8"
        assert await text(exported) == HOSTILE
