"""The SLA, checklist, report and post-mortem pages in Debian's chromium (Playwright) against `tocsin serve`:
times in the reader's zone with UTC in a tooltip, the weekly chart, a hostile post-mortem that runs nothing,
desktop and phone widths. Screenshots go to TOCSIN_ARTIFACTS_DIR (default test-artifacts/)."""

from __future__ import annotations

import asyncio
import json
import tempfile
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_dashboard_browser import DESKTOP, PHONE, WAIT_MS
from tests.support.dashboard import alert_group, artifacts_dir, post_webhook
from tests.support.postgres import TestPostgres as Postgres
from tests.support.server import run_cli, serving

pytestmark = pytest.mark.browser
WEBHOOK_TOKEN = "review-webhook-token"
CONFIG = """
templates:
  - id: db-failover
    title: Database failover
    severity: critical
    checklist: [Freeze deploys, Promote the replica, Point the app at it]
    runbooks: [https://wiki.example/runbooks/db-failover]
sla:
  critical: {ack: 5m, resolve: 4h}
  warning: {ack: 30m, resolve: 1d}
"""
HOSTILE = ("# Review of the checkout outage\n\n<script>window.pwned = 1</script>\n\n"
           "<img src=x onerror=\"window.pwned = 2\">\n\n[looks fine](javascript:window.pwned=3)\n\n"
           "| when | what |\n|---|---|\n| 19:03 | paged |\n\n## Action items\n\n- [ ] Alert on p99 @alice\n")


class Site:
    def __init__(self, url: str, viewer: str, responder: str) -> None:
        self.url, self.viewer, self.responder = url, viewer, responder
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def call(self, method: str, path: str, body: dict | None = None, **headers: str) -> tuple[dict, Any]:
        request = urllib.request.Request(
            self.url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.responder}", "Content-Type": "application/json", **headers})
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read()), response.headers


@pytest.fixture(scope="module")
def site(postgres: Postgres) -> Iterator[Site]:
    """`tocsin serve` with SLA targets and a template; an open incident, a templated one with a step checked, and a
    resolved one with a hostile post-mortem."""
    loop = asyncio.new_event_loop()
    try:
        database_url = loop.run_until_complete(postgres.fresh_database())
    finally:
        loop.close()
    tokens = [run_cli(database_url, "token", "create", "--name", n, "--role", r).stdout.strip()
              for n, r in (("viewer", "viewer"), ("responder", "responder"))]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as config:
        config.write(CONFIG)
        config.flush()
        with serving(database_url, WEBHOOK_TOKEN=WEBHOOK_TOKEN, TOCSIN_CONFIG=config.name) as url:
            found = Site(url, *tokens)
            post_webhook(url, alert_group("CheckoutLatency", severity="critical"), WEBHOOK_TOKEN)
            opened, _ = found.call("POST", "/api/v1/incidents", {"template": "db-failover"})
            found.call("POST", f"/api/v1/incidents/{opened['id']}/checklist/1", {"done": True})
            (review_id,) = post_webhook(url, alert_group("DiskFull", severity="warning", alerts=1), WEBHOOK_TOKEN)
            found.call("POST", f"/api/v1/incidents/{review_id}/resolve", {"note": "cleaned up"})
            _, headers = found.call("GET", f"/api/v1/incidents/{review_id}/postmortem")
            found.call("PUT", f"/api/v1/incidents/{review_id}/postmortem", {"status": "draft", "markdown": HOSTILE},
                       **{"If-Match": headers["ETag"]})
            found.templated, found.reviewed = opened["id"], review_id  # type: ignore[attr-defined]
            yield found


async def page_of(browser: Any, site: Site, viewport: dict[str, int] = DESKTOP, zone: str = "America/New_York") -> Any:
    context = await browser.new_context(viewport=viewport, timezone_id=zone, locale="en-US")
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    page.on("console", lambda m: site.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: site.errors.append(str(e)))
    page.on("dialog", lambda d: site.dialogs.append(d.message))
    await page.goto(site.url + "/login")
    await page.get_by_label("API token").fill(site.viewer)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Incidents", exact=True).wait_for()
    return page


async def shoot(page: Any, name: str) -> None:
    await page.screenshot(path=str(artifacts_dir() / f"review-{name}.png"), full_page=True)


async def test_times_show_in_the_readers_zone_with_utc_in_a_tooltip(browser: Any, site: Site) -> None:
    page = await page_of(browser, site)
    await page.goto(f"{site.url}/incidents/{site.templated}")  # type: ignore[attr-defined]
    opened = page.locator("dl.facts time").first
    await page.wait_for_selector("time[data-local='1']")
    shown, tooltip = await opened.inner_text(), await opened.get_attribute("title")
    assert tooltip.endswith(" UTC") and "UTC" not in shown
    assert shown.endswith(("EST", "EDT")), shown  # New York, the browser's zone
    assert await page.evaluate("document.body.dataset.zone") == "America/New_York"
    assert await page.locator("[data-sla=ack] .badge").inner_text() in ("ack in 5m 0s",) or \
        (await page.locator("[data-sla=ack] .badge").inner_text()).startswith("ack in 4m")
    assert await page.get_by_role("heading", name="Checklist").count() == 1
    assert "1 of 3 done" in await page.locator("#checklist-title").inner_text()
    await shoot(page, "incident-sla-checklist-desktop")
    await page.context.close()


async def test_the_sla_report_draws_its_weekly_chart_on_desktop_and_phone(browser: Any, site: Site) -> None:
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await page_of(browser, site, viewport)
        await page.get_by_role("link", name="SLA report").click()
        await page.get_by_role("heading", name="SLA report").wait_for()
        await page.wait_for_selector("body[data-charts=drawn]")
        await page.get_by_label("Group by").select_option("severity")
        await page.get_by_role("button", name="Show").click()
        await page.wait_for_url("**group_by=severity**")
        await page.wait_for_selector("body[data-charts=drawn]")
        rows = await page.locator("#sla-table tbody th").all_inner_texts()
        assert rows == ["critical", "warning"]
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await shoot(page, f"sla-report-{name}")
        await page.context.close()


async def test_a_hostile_post_mortem_runs_nothing_and_is_listed_for_review(browser: Any, site: Site) -> None:
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await page_of(browser, site, viewport)
        await page.get_by_role("link", name="Post-mortems").click()
        await page.get_by_role("heading", name="Post-mortems awaiting review").wait_for()
        await shoot(page, f"awaiting-{name}")
        await page.locator(f'#awaiting tr[data-id="{site.reviewed}"] a').nth(1).click()  # type: ignore[attr-defined]
        await page.get_by_role("heading", name="Review of the checkout outage").wait_for()
        assert await page.evaluate("window.pwned") is None
        assert await page.locator("article.review script, article.review img").count() == 0
        assert await page.locator("article.review a[href^='javascript']").count() == 0
        assert await page.locator("article.review table td").first.inner_text() == "19:03"
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await shoot(page, f"postmortem-{name}")
        await page.context.close()
    assert site.dialogs == [] and site.errors == []
