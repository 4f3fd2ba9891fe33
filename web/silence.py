"""Silence an incident: Alertmanager creates the silences (HTTP), then the store records them."""

from __future__ import annotations

from datetime import UTC, datetime

from store import silence as silence_store
from store.db import Database
from store.domain.incident import ActionSource
from store.domain.silence import BadDuration, check_seconds
from store.errors import ApiError
from store.lifecycle import ActionResult
from web.alertmanager import AlertmanagerClient, AlertmanagerError, silence_body


async def silence_incident(
    db: Database,
    alertmanager_url: str | None,
    incident_id: int,
    seconds: float,
    actor: str,
    source: ActionSource,
) -> ActionResult:
    """One Alertmanager silence per firing alert of the incident (equal matchers on its labels), recorded.

    422 for a bad duration; 404; 409 when resolved, nothing fires or ALERTMANAGER_URL is unset; 503 when
    Alertmanager cannot be reached or refuses (nothing is recorded then).
    """
    try:
        seconds = check_seconds(seconds)
    except BadDuration as exc:
        raise ApiError(422, "invalid_payload", f"duration: {exc}", [{"field": "duration"}]) from None
    if not alertmanager_url:
        # Not a passing failure (retrying will not help): a conflict with how Tocsin is set up.
        raise ApiError(409, "silences_off", "silences are off: ALERTMANAGER_URL is not set on Tocsin")
    _incident, label_sets = await silence_store.silence_matchers(db, incident_id)
    client = AlertmanagerClient(alertmanager_url)
    now = datetime.now(UTC)
    ids: list[str] = []
    try:
        for labels in label_sets:
            body = silence_body(labels, now, seconds, actor, f"Tocsin incident #{incident_id}")
            ids.append(await client.create_silence(body))
    except AlertmanagerError as exc:
        made = f" ({len(ids)} silence(s) were made before: {', '.join(ids)})" if ids else ""
        raise ApiError(503, "alertmanager_unavailable", f"{exc}{made}") from None
    return await silence_store.record_silence(db, incident_id, ids, seconds, actor, source, now=now)
