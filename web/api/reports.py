"""GET /api/v1/reports/sla: each group's incidents against their SLA targets, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from quart import Response, current_app, request

from store import sla
from store.errors import ApiError
from store.runtime import Runtime
from store.sql.sla import ReportRow
from web.api import auth
from web.api import examples as ex
from web.api.registry import Call, Endpoint, Registry
from web.api.schema import Field, FieldError, Query, parse_since
from web.api.shapes import ref, rfc3339

GROUP_BY = ("route", "severity", "team")
QUERY = Query(
    (
        Field("since", "string", "start of the window: a duration back from now (30d, 24h) or an RFC 3339 time",
              default="30d", max_length=64),
        Field("until", "string", "end of the window (default now): a duration back from now or an RFC 3339 time",
              max_length=64),
        Field("group_by", "string", "one row per route, severity or team (the `team` label)", enum=GROUP_BY,
              default="route"),
        Field("format", "string", "csv for CSV (as `Accept: text/csv`); default JSON", enum=("json", "csv")),
    )
)
MAX_WINDOW = timedelta(days=366)
CSV_COLUMNS = ("scope", "group", "incidents", "ack_met", "ack_breached", "ack_attainment_percent", "resolve_met",
               "resolve_breached", "resolve_attainment_percent", "breaches", "mtta_p50_seconds", "mtta_p90_seconds",
               "mttr_p50_seconds", "mttr_p90_seconds")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(422, "invalid_parameter", f"invalid query: {name}: {message}",
                    [{"field": name, "message": message}])


def window(since_text: str, until_text: str | None, now: datetime) -> tuple[datetime, datetime]:
    """[since, until) from the query; 422 naming the parameter when it is not a window within the last 366 days."""
    try:
        since = parse_since(since_text, now)
    except FieldError as exc:
        raise _invalid("since", str(exc)) from None
    try:
        until = parse_since(until_text, now) if until_text else now
    except FieldError as exc:
        raise _invalid("until", str(exc)) from None
    if not now - MAX_WINDOW <= since <= now:
        raise _invalid("since", "expected a time within the last 366 days")
    if until <= since:
        raise _invalid("until", "expected a time after since")
    return since, min(until, now + timedelta(days=1))


def attainment(met: int, breached: int) -> float | None:
    """Percent of the measured incidents that met their target (None when none was measured)."""
    measured = met + breached
    return None if measured == 0 else round(100.0 * met / measured, 2)


def _pair(values: tuple[float, float] | None) -> dict[str, float | None]:
    return {"p50": values[0], "p90": values[1]} if values else {"p50": None, "p90": None}


def row_json(row: ReportRow) -> dict[str, Any]:
    """One group's figures."""
    group = row.group.isoformat() if hasattr(row.group, "isoformat") else row.group
    return {
        "group": group,
        "incidents": row.incidents,
        "ack_met": row.ack_met,
        "ack_breached": row.ack_breached,
        "ack_attainment_percent": attainment(row.ack_met, row.ack_breached),
        "resolve_met": row.resolve_met,
        "resolve_breached": row.resolve_breached,
        "resolve_attainment_percent": attainment(row.resolve_met, row.resolve_breached),
        "breaches": row.ack_breached + row.resolve_breached,
        "mtta_seconds": _pair(row.mtta),
        "mttr_seconds": _pair(row.mttr),
    }


def report_json(report: sla.Report) -> dict[str, Any]:
    """The whole report: its window, a row per group, the total and a row per week."""
    weekly = []
    for row in report.weekly:
        entry = row_json(row)
        weekly.append({"week": entry.pop("group"), **entry})
    total = row_json(report.total)
    total.pop("group")
    return {
        "since": rfc3339(report.since),
        "until": rfc3339(report.until),
        "group_by": report.group_by,
        "groups": [row_json(r) for r in report.groups],
        "total": total,
        "weekly": weekly,
    }


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # a spreadsheet must not run a team label as a formula
    return value


def report_csv(body: dict[str, Any]) -> str:
    """The report as CSV: a row per group, the total, then a row per week (column `scope` tells which)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = [("group", r) for r in body["groups"]] + [("total", {**body["total"], "group": None})]
    rows += [("week", {**r, "group": r["week"]}) for r in body["weekly"]]
    for scope, r in rows:
        flat = {**r, "scope": scope, "mtta_p50_seconds": r["mtta_seconds"]["p50"],
                "mtta_p90_seconds": r["mtta_seconds"]["p90"], "mttr_p50_seconds": r["mttr_seconds"]["p50"],
                "mttr_p90_seconds": r["mttr_seconds"]["p90"]}
        writer.writerow([_cell(flat[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def wants_csv(format_param: str | None) -> bool:
    """CSV when format=csv, or when no format is given and Accept prefers text/csv."""
    if format_param is not None:
        return format_param == "csv"
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


async def build(runtime: Runtime, since_text: str, until_text: str | None, group_by: str) -> sla.Report:
    """The report of the window the query names, at the runtime's clock."""
    now = runtime.clock()
    since, until = window(since_text, until_text, now)
    return await sla.report(runtime.db, runtime.config, since, until, group_by, now)


def register(api: Registry, anonymous_read: bool) -> None:
    """Add the SLA report endpoint to the registry."""

    @api.route(Endpoint("GET", "/api/v1/reports/sla", "getSlaReport",
                        "Incidents created in a window against their SLA targets, per route, severity or team",
                        auth.READ, ref("SlaReport"), query=QUERY, example=ex.SLA_REPORT,
                        other_media={"text/csv": ex.SLA_REPORT_CSV}), anonymous_read)
    async def sla_report(call: Call) -> Any:
        q = call.query
        report = await build(current_app.extensions["tocsin"], q["since"], q["until"], q["group_by"])
        body = report_json(report)
        if not wants_csv(q["format"]):
            return body
        name = f"sla-{q['group_by']}-{report.since:%Y%m%d}-{report.until:%Y%m%d}.csv"
        return Response(report_csv(body), 200, content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Vary": "Accept"})
