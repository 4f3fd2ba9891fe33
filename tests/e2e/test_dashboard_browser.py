"""The dashboard in a real browser (Debian's chromium through Playwright) against a real `tocsin serve`:
sign-in, the list fed by webhooks, filters, the incident page, live updates without reload, a phone's width.
Screenshots go to TOCSIN_ARTIFACTS_DIR (default test-artifacts/)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.dashboard import alert_group, artifacts_dir, post_webhook
from tests.support.postgres import TestPostgres as Postgres
from tests.support.server import run_cli, serving

pytestmark = pytest.mark.browser
WEBHOOK_TOKEN = "browser-webhook-token"
WAIT_MS = 15_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


@dataclass
class Site:
    url: str
    token: str
    errors: list[str] = field(default_factory=list)

    def post(self, body: dict[str, Any]) -> int:
        (incident_id,) = post_webhook(self.url, body, WEBHOOK_TOKEN)
        return incident_id


@pytest.fixture(scope="module")
def site(postgres: Postgres) -> Iterator[Site]:
    """`tocsin serve` on a database of its own, with a viewer token and three incidents from webhooks."""
    loop = asyncio.new_event_loop()  # not the tests' loop: this module's database outlives one test
    try:
        database_url = loop.run_until_complete(postgres.fresh_database())
    finally:
        loop.close()
    created = run_cli(database_url, "token", "create", "--name", "browser", "--role", "viewer")
    assert created.returncode == 0, created.stderr
    with serving(database_url, WEBHOOK_TOKEN=WEBHOOK_TOKEN, ALERTMANAGER_URL="http://alertmanager.example:9093") as url:
        found = Site(url, created.stdout.strip())
        found.post(alert_group("CheckoutLatency", team="payments", severity="critical"))
        found.post(alert_group("SearchIndexLag", team="search", severity="warning", alerts=1))
        found.post(alert_group("DiskAlmostFull", team="infra", severity="error", alerts=3,
                               extra_labels={"note": "<b>not bold</b>"}))
        yield found


async def new_page(browser: Any, site: Site, viewport: dict[str, int] = DESKTOP, collect: bool = True) -> Any:
    """A fresh browser context (no cookie); its console errors (script errors, CSP violations) are collected."""
    context = await browser.new_context(viewport=viewport)
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    if collect:
        page.on("console", lambda m: site.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: site.errors.append(str(e)))
    return page


async def signed_in(browser: Any, site: Site, viewport: dict[str, int] = DESKTOP) -> Any:
    page = await new_page(browser, site, viewport)
    await page.goto(site.url + "/login")
    await page.get_by_label("API token").fill(site.token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector("body[data-live-state=connected]")
    return page


def titles(page: Any) -> Any:
    return page.locator("table.incidents td.title a").all_inner_texts()


async def shoot(page: Any, name: str) -> None:
    await page.screenshot(path=str(artifacts_dir() / f"dashboard-{name}.png"), full_page=True)


async def test_sign_in_refuses_a_bad_token_then_accepts_a_good_one(browser: Any, site: Site) -> None:
    page = await new_page(browser, site, collect=False)  # the refusal is a 401, which the console reports
    await page.goto(site.url + "/")
    assert page.url.endswith("/login?next=%2F")
    await page.get_by_label("API token").fill("tocsin_wrong-token")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="This token is unknown or revoked").wait_for()
    await shoot(page, "login-refused")
    await page.get_by_label("API token").fill(site.token)
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Incidents", exact=True).wait_for()
    assert page.url == site.url + "/"
    cookies = await page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [("tocsin_session", True, "Strict")]
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_text("You are signed out.").wait_for()
    await page.context.close()


async def test_the_list_shows_webhook_incidents_and_a_filter_narrows_it(browser: Any, site: Site) -> None:
    page = await signed_in(browser, site)
    shown = " ".join(await titles(page))
    assert all(name in shown for name in ("CheckoutLatency", "SearchIndexLag", "DiskAlmostFull"))
    await page.wait_for_selector("body[data-charts=drawn]")
    await shoot(page, "list-desktop")
    await page.get_by_label("Team", exact=True).fill("search")
    await page.get_by_role("button", name="Apply").click()
    await page.wait_for_url("**/?*team=search*")
    assert len(await titles(page)) == 1 and "SearchIndexLag" in (await titles(page))[0]
    await page.get_by_label("Severity", exact=True).select_option("critical")
    await page.get_by_role("button", name="Apply").click()
    await page.get_by_text("No incident matches these filters.").wait_for()
    await page.context.close()


async def test_the_incident_page_shows_alerts_timeline_and_links(browser: Any, site: Site) -> None:
    page = await signed_in(browser, site)
    await page.get_by_role("link", name="DiskAlmostFull", exact=False).first.click()
    await page.get_by_role("heading", name="Alerts").wait_for()
    assert await page.locator("article.alert").count() == 3
    assert await page.locator("article.alert .badge").all_inner_texts() == ["firing"] * 3
    timeline = await page.locator(".timeline li").all_inner_texts()
    assert "Opened by Alertmanager" in timeline[0] and "via alertmanager" in timeline[0]
    assert len(timeline) == 4  # opened, and one entry per alert
    assert await page.get_by_text("<b>not bold</b>").count() > 0  # a label's HTML shows as text
    assert await page.get_by_role("link", name="Source graph").count() >= 1
    assert await page.get_by_role("link", name="Runbook").count() >= 1
    assert await page.get_by_role("link", name="Alertmanager").count() == 1
    await shoot(page, "incident-desktop")
    await page.context.close()


async def test_a_new_incident_appears_and_the_incident_page_updates_without_reload(browser: Any, site: Site) -> None:
    page = await signed_in(browser, site)
    await page.evaluate("window.loadedOnce = true")
    opened = page.locator("[data-live=window] .figures dd").first
    before = int(await opened.inner_text())
    info = int(await page.locator('[data-count="severity-info"]').inner_text())
    incident_id = await asyncio.to_thread(site.post, alert_group("ArrivedLive", team="web", severity="info"))
    row = page.locator(f'tr[data-id="{incident_id}"]')
    await row.wait_for()
    assert "ArrivedLive" in await row.inner_text()
    assert int(await opened.inner_text()) == before + 1  # the period's figures and counters follow too
    assert int(await page.locator('[data-count="severity-info"]').inner_text()) == info + 1
    assert await page.evaluate("window.loadedOnce") is True  # the same document: no reload
    await page.wait_for_function("document.getElementById('live-status').textContent.includes('new')")

    detail = await signed_in(browser, site)
    await detail.goto(f"{site.url}/incidents/{incident_id}")
    await detail.wait_for_selector("body[data-live-state=connected]")
    await detail.evaluate("window.loadedOnce = true")
    resolved = alert_group("ArrivedLive", team="web", severity="info")
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"], alert["endsAt"] = "resolved", "2026-11-26T20:00:00Z"
    await asyncio.to_thread(site.post, resolved)
    await detail.locator("[data-live=head] .badge.status-resolved").wait_for()
    await detail.locator("article.alert .badge.alert-resolved").first.wait_for()
    assert await detail.evaluate("window.loadedOnce") is True
    await page.context.close()
    await detail.context.close()


async def test_at_phone_width_nothing_scrolls_sideways(browser: Any, site: Site) -> None:
    page = await signed_in(browser, site, PHONE)
    await page.wait_for_selector("body[data-charts=drawn]")
    width = "document.documentElement.scrollWidth <= window.innerWidth"
    assert await page.evaluate(width)
    await shoot(page, "list-phone")
    await page.locator("table.incidents td.title a").first.click()
    await page.get_by_role("heading", name="Timeline").wait_for()
    assert await page.evaluate(width)
    await shoot(page, "incident-phone")
    await page.context.close()


async def test_keyboard_reaches_the_filters_and_no_page_logged_an_error(browser: Any, site: Site) -> None:
    page = await signed_in(browser, site)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.keyboard.press("Enter")
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "f-status":
            break
    assert await page.evaluate("document.activeElement.id") == "f-status"
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # a visible focus ring
    await page.context.close()
    assert site.errors == []  # no script error and no CSP violation on any page of this module
