"""GET /api/v1/stats: counts by status and severity, MTTA and MTTR, opened and resolved per day."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from quart import current_app

from store.domain.incident import SEVERITIES, Status
from store.errors import ApiError
from store.runtime import Runtime
from store.sql import stats as stats_sql
from store.sql.stats import Durations
from web.api import auth
from web.api import examples as ex
from web.api.registry import Call, Endpoint, Registry
from web.api.schema import DURATION, Field, FieldError, Query, parse_since
from web.api.shapes import ref, rfc3339

QUERY = Query(
    (
        Field("since", "string", "a duration back from now (7d, 24h, 30m) or an RFC 3339 time", default="7d",
              max_length=64),
    )
)
MAX_WINDOW = timedelta(days=366)
# A relative window ("7d") moves with the clock anyway: its answer is reused for a few seconds, so that
# dashboards polling it do not recompute the same aggregates. Absolute windows are always computed.
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 32


def _durations(d: Durations) -> dict[str, float | None]:
    return {"mean": d.mean, "p50": d.p50, "p90": d.p90}


def register(api: Registry, anonymous_read: bool) -> None:
    """Add the stats endpoint to the registry."""
    cache: dict[str, tuple[float, dict[str, Any]]] = {}

    @api.route(Endpoint("GET", "/api/v1/stats", "getStats", "Incident statistics since a time", auth.READ,
                        ref("Stats"), query=QUERY, example=ex.STATS), anonymous_read)
    async def get_stats(call: Call) -> dict[str, Any]:
        runtime: Runtime = current_app.extensions["tocsin"]
        key = call.query["since"].strip()
        cached = cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        body = await _compute(runtime, key)
        if DURATION.match(key):
            if len(cache) >= CACHE_ENTRIES:
                cache.clear()
            cache[key] = (time.monotonic() + CACHE_SECONDS, body)
        return body


async def _compute(runtime: Runtime, since_text: str) -> dict[str, Any]:
    now = runtime.clock()
    try:
        since = parse_since(since_text, now)
    except FieldError as exc:
        raise ApiError(422, "invalid_parameter", f"invalid query: since: {exc}",
                       [{"field": "since", "message": str(exc)}]) from None
    if not now - MAX_WINDOW <= since <= now:
        message = "expected a time within the last 366 days"
        raise ApiError(422, "invalid_parameter", f"invalid query: since: {message}",
                       [{"field": "since", "message": message}])
    async with runtime.db.connection() as conn:
        stats = await stats_sql.window_stats(conn, since, now)
    return {
        "since": rfc3339(since),
        "until": rfc3339(now),
        "by_status": {s.value: stats.by_status.get(s.value, 0) for s in Status},
        "by_severity": {s: stats.by_severity.get(s, 0) for s in SEVERITIES},
        "mtta_seconds": _durations(stats.mtta),
        "mttr_seconds": _durations(stats.mttr),
        "daily": [{"date": d.isoformat(), "opened": o, "resolved": r} for d, o, r in stats.daily],
    }
