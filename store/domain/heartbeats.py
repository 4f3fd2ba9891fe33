"""Heartbeats (dead man's switches): a ping is expected within a timeout, else a missing-heartbeat alert fires (pure).

The alert is an ordinary alert to the ingest (alertname HeartbeatMissing, `heartbeat: ID` and the
heartbeat's labels), so the routes' matchers send it where it belongs, with the route's escalation. It
starts when the timeout ran out after the last ping and resolves at the next ping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from store.domain.alerts import AlertBatch, AlertSignal
from store.domain.config_fields import format_span

ALERTNAME = "HeartbeatMissing"
LABEL = "heartbeat"
RECEIVER = "tocsin-heartbeats"
INACTIVE, UP, DOWN, MUTED = "inactive", "up", "down", "muted"
MIN_TIMEOUT = timedelta(seconds=5)
MAX_TIMEOUT = timedelta(days=30)
MIN_TOKEN = 16


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A declared heartbeat: its id, how long it may stay silent, its alert's labels and its own token."""

    id: str
    timeout: timedelta
    labels: Mapping[str, str] = field(default_factory=dict)  # the alert's, alertname and heartbeat included
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class HeartbeatState:
    """What the database holds of a heartbeat (nothing until its first ping)."""

    id: str
    last_seen_at: datetime | None = None
    down_since: datetime | None = None  # when its missing alert started (None: not firing)
    muted_until: datetime | None = None


def alert_labels(heartbeat_id: str, labels: Mapping[str, str]) -> dict[str, str]:
    """The missing-heartbeat alert's labels: the declared ones with alertname and heartbeat set."""
    return {**labels, "alertname": ALERTNAME, LABEL: heartbeat_id}


def muted(state: HeartbeatState, now: datetime) -> bool:
    """True while a mute holds."""
    return state.muted_until is not None and now < state.muted_until


def status(state: HeartbeatState | None, now: datetime) -> str:
    """inactive (never pinged), muted, down (its alert fires) or up."""
    if state is not None and muted(state, now):
        return MUTED
    if state is None or state.last_seen_at is None:
        return INACTIVE
    return DOWN if state.down_since is not None else UP


def missing_since(heartbeat: Heartbeat, state: HeartbeatState) -> datetime | None:
    """When the heartbeat went missing: its timeout after the last ping (None while never pinged)."""
    return state.last_seen_at + heartbeat.timeout if state.last_seen_at is not None else None


def overdue(heartbeat: Heartbeat, state: HeartbeatState, now: datetime) -> bool:
    """True when its alert must start now: pinged once, silent past the timeout, not firing, not muted."""
    since = missing_since(heartbeat, state)
    return since is not None and since <= now and state.down_since is None and not muted(state, now)


def fingerprint(heartbeat_id: str) -> str:
    """A stable fingerprint of the heartbeat's alert (as Alertmanager's: 16 hex digits)."""
    return hashlib.sha256(f"{LABEL}:{heartbeat_id}".encode()).hexdigest()[:16]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def missing_alert(heartbeat: Heartbeat, last_seen_at: datetime, starts_at: datetime, *, resolved_at: datetime | None
                  = None) -> AlertSignal:
    """The missing-heartbeat alert (resolved at `resolved_at` when given); it starts at `starts_at`."""
    summary = f"No heartbeat from {heartbeat.id} since {_utc(last_seen_at)}"
    description = (f"Heartbeat {heartbeat.id} expects a ping at least every {format_span(heartbeat.timeout)}; "
                   f"the last one came at {_utc(last_seen_at)}.")
    return AlertSignal(
        fingerprint=fingerprint(heartbeat.id),
        status="resolved" if resolved_at is not None else "firing",
        starts_at=starts_at,
        ends_at=resolved_at,
        labels=alert_labels(heartbeat.id, heartbeat.labels),
        annotations={"summary": summary, "description": description},
    )


def batch_of(heartbeat: Heartbeat, alert: AlertSignal) -> AlertBatch:
    """The alert as one webhook's batch, grouped by heartbeat (a route's group_by still applies)."""
    return AlertBatch(
        group_key=f"{{}}:{{{LABEL}=\"{heartbeat.id}\"}}", receiver=RECEIVER, external_url="",
        group_labels={LABEL: heartbeat.id}, alerts=[alert],
    )


def counts_as_ping(body: Any) -> bool:
    """Whether a ping's body counts: anything, except an Alertmanager webhook whose alerts have all resolved
    (the Watchdog alert resolving means its source went away: that is the silence a heartbeat is for)."""
    if not isinstance(body, dict) or not isinstance(body.get("alerts"), list) or "version" not in body:
        return True
    return any(isinstance(a, dict) and a.get("status", "firing") == "firing" for a in body["alerts"])
