"""Dataclasses that query results are turned into at the edge of store/sql."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from store.domain.incident import Status
from store.domain.templates import ChecklistItem


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident as stored."""

    id: int
    group_key: str
    route_id: str
    source: str
    status: Status
    severity: str
    title: str
    summary: str
    description: str
    labels: dict[str, str]
    group_labels: dict[str, str]
    links: dict[str, str]
    external_url: str
    alert_count: int
    firing_alert_count: int
    auto_resolve: bool
    reopen_count: int
    created_at: datetime
    updated_at: datetime
    triggered_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    channels: dict[str, Any] = field(default_factory=dict)  # fixed at open: {"email": [..], "slack": .., ..}
    # Not a column: the response template's steps, filled in where a message shows them (store.deliveries).
    checklist: tuple[ChecklistItem, ...] = ()
    tickets: list[dict[str, str]] = field(default_factory=list)  # issues opened elsewhere: {system, key, url}
    maintenance_id: str | None = None  # the maintenance window it is in (no escalation, no pages)
    flapping: bool = False  # its group keeps changing state: quiet until stable

    @property
    def quiet(self) -> bool:
        """In maintenance or flapping: one quiet message per chat, no mail, no pages."""
        return self.maintenance_id is not None or self.flapping

    @classmethod
    def from_record(cls, r: Any) -> Incident:
        """Build from an asyncpg record of the incidents table."""
        values = {name: r[name] for name in cls.__slots__ if name != "checklist"}
        values["status"] = Status(values["status"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert instance as stored."""

    id: int
    incident_id: int
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    created_at: datetime
    updated_at: datetime
    last_received_at: datetime
    receive_count: int

    @classmethod
    def from_record(cls, r: Any) -> Alert:
        """Build from an asyncpg record of the alerts table."""
        return cls(**{name: r[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class Event:
    """One timeline entry: what changed, who did it and through which channel."""

    id: int
    incident_id: int
    kind: str
    actor: str
    source: str
    message: str
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_record(cls, r: Any) -> Event:
        """Build from an asyncpg record of the incident_events table."""
        return cls(**{name: r[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A timeline entry about to be written."""

    incident_id: int
    kind: str
    actor: str
    source: str
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one channel target: an incident's open message or an update of it, or an announcement."""

    id: int
    incident_id: int | None  # None for an announcement
    channel: str
    target: str
    kind: str  # "open", "update" or "announce"
    state: str  # "pending", "sending", "sent" or "failed"
    first_event_id: int | None  # the first and last timeline entries this message reflects (a burst coalesces)
    event_id: int | None
    event_kind: str
    attempts: int
    next_attempt_at: datetime
    claimed_until: datetime | None
    claim_token: Any
    last_error: str | None
    # An open's own reference once sent; on a claimed update, the open's (the message to edit or reply to).
    external_ref: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    announcement_id: int | None = None  # a handoff announcement's id (kind "announce")

    @classmethod
    def from_record(cls, r: Any) -> Delivery:
        """Build from an asyncpg record of the deliveries table."""
        return cls(**{name: r[name] for name in cls.__slots__})
