"""The dashboard's SLA report (table, chart per week, CSV) and post-mortems (rendered, awaiting review, Markdown)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from quart import Blueprint, Response, current_app, request

from store import postmortems, sla
from store.domain.postmortem import action_items
from store.runtime import UNAVAILABLE, Runtime, unavailable_error
from store.sql import postmortems as postmortems_sql
from web.api.postmortems import markdown_response
from web.api.reports import GROUP_BY, report_csv, report_json, window
from web.dashboard import data, session
from web.dashboard.markdown import render
from web.dashboard.settings import DashboardSettings

REPORT_PERIODS = {"7d": "last 7 days", "30d": "last 30 days", "90d": "last 90 days"}
AWAITING_SEVERITIES = ["critical", "error"]
AWAITING_WINDOW = timedelta(days=90)
AWAITING_SHOWN = 100
Page = Callable[..., Awaitable[Response]]


def _runtime() -> Runtime:
    return current_app.extensions["tocsin"]


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    return data._choice(request.args, name, choices, default)


async def _guarded(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except UNAVAILABLE as exc:
        raise unavailable_error(exc) from None


async def _report_body() -> tuple[dict[str, Any], str, str]:
    period = _choice("period", tuple(REPORT_PERIODS), "30d")
    group_by = _choice("group_by", GROUP_BY, "route")
    runtime = _runtime()
    now = runtime.clock()
    since, until = window(period, None, now)
    report = await _guarded(sla.report(runtime.db, runtime.config, since, until, group_by, now))
    return report_json(report), period, group_by


def register(bp: Blueprint, settings: DashboardSettings, page: Page) -> None:
    """Add the report and review pages to the dashboard."""

    @bp.get("/reports/sla")
    async def sla_report() -> Response:
        viewer = await session.current_viewer(settings)
        body, period, group_by = await _report_body()
        chart = {"weeks": [w["week"] for w in body["weekly"]],
                 "ack": [w["ack_attainment_percent"] for w in body["weekly"]],
                 "resolve": [w["resolve_attainment_percent"] for w in body["weekly"]],
                 "breaches": [w["breaches"] for w in body["weekly"]]}
        return await page("dashboard/sla.html", viewer, report=body, period=period, group_by=group_by,
                          periods=REPORT_PERIODS, groupings=GROUP_BY, chart=chart)

    @bp.get("/reports/sla.csv")
    async def sla_report_csv() -> Response:
        await session.current_viewer(settings)
        body, period, group_by = await _report_body()
        return Response(report_csv(body), 200, content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="sla-{group_by}-{period}.csv"'})

    @bp.get("/postmortems")
    async def awaiting() -> Response:
        viewer = await session.current_viewer(settings)
        runtime = _runtime()
        since = runtime.clock() - AWAITING_WINDOW
        async with runtime.db.connection() as conn:
            found = await _guarded(postmortems_sql.awaiting(conn, since, AWAITING_SEVERITIES, AWAITING_SHOWN))
        return await page("dashboard/postmortems.html", viewer, items=found, severities=AWAITING_SEVERITIES)

    @bp.get("/incidents/<incident_id>/postmortem")
    async def review_page(incident_id: str) -> Response:
        viewer = await session.current_viewer(settings)
        runtime = _runtime()
        review = await _guarded(postmortems.read(runtime.db, runtime.config, data.parse_incident_id(incident_id),
                                                 runtime.clock()))
        return await page("dashboard/postmortem.html", viewer, review=review, incident=review.incident,
                          html=render(review.markdown), items=action_items(review.markdown))

    @bp.get("/incidents/<incident_id>/postmortem.md")
    async def review_markdown(incident_id: str) -> Response:
        await session.current_viewer(settings)
        runtime = _runtime()
        review = await _guarded(postmortems.read(runtime.db, runtime.config, data.parse_incident_id(incident_id),
                                                 runtime.clock()))
        return markdown_response(review)
