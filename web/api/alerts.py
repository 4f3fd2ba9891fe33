"""The alert endpoints: list with filters, one alert with its incident."""

from __future__ import annotations

from typing import Any

from quart import current_app

from store.errors import ApiError
from store.sql import incidents as incidents_sql
from store.sql import listing
from web.api import auth, cursor
from web.api import examples as ex
from web.api.incidents import incident_view
from web.api.registry import Call, Endpoint, Registry
from web.api.schema import BIGINT_MAX, Field, Query
from web.api.shapes import alert_json, page_of, ref

LIST = Query(
    (
        Field("status", "string", "firing or resolved", enum=("firing", "resolved")),
        Field("incident_id", "integer", "only the alerts of this incident", minimum=1, maximum=BIGINT_MAX),
        Field("fingerprint", "string", "Alertmanager's fingerprint", min_length=1, max_length=200),
        Field("label", "string", "name=value; repeat to require several labels", pattern=r"^[^=]+=",
              max_length=500, repeated=True),
        Field("limit", "integer", "page size", minimum=1, maximum=500, default=50),
        Field("cursor", "string", "next_cursor of the previous page", min_length=1, max_length=500),
    )
)


def _labels(pairs: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name in labels and labels[name] != value:
            raise ApiError(422, "invalid_parameter", f"invalid query: label: {name} is given two values",
                           [{"field": "label", "message": f"{name} is given two values"}])
        labels[name] = value
    return labels


def register(api: Registry, public_url: str, anonymous_read: bool) -> None:
    """Add the alert endpoints to the registry."""

    @api.route(Endpoint("GET", "/api/v1/alerts", "listAlerts", "List alerts, newest first", auth.READ,
                        page_of("Alert"), query=LIST,
                        example={"items": [ex.ALERT], "next_cursor": None}), anonymous_read)
    async def list_alerts(call: Call) -> dict[str, Any]:
        q = call.query
        after = cursor.decode(q["cursor"], "alerts", listing.ALERT_SORT.kinds)
        filters = listing.AlertFilter(q["status"], q["incident_id"], q["fingerprint"], _labels(q["label"]))
        async with current_app.extensions["tocsin"].db.connection() as conn:
            page = await listing.list_alerts(conn, filters, q["limit"], after)
        return {"items": [alert_json(a) for a in page.items], "next_cursor": cursor.encode("alerts", page.next_key)}

    @api.route(Endpoint("GET", "/api/v1/alerts/{id}", "getAlert", "One alert with its incident", auth.READ,
                        ref("AlertDetail"), errors=(404,),
                        example={**ex.ALERT, "incident": ex.INCIDENT}), anonymous_read)
    async def get_alert(call: Call) -> dict[str, Any]:
        alert_id = call.path["id"]
        async with current_app.extensions["tocsin"].db.connection() as conn:
            alert = await listing.get_alert(conn, alert_id)
            if alert is None:
                raise ApiError(404, "not_found", f"alert {alert_id} does not exist")
            incident = await incidents_sql.get(conn, alert.incident_id)
        return {**alert_json(alert), "incident": incident_view(incident, public_url)}
