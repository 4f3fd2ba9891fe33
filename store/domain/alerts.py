"""Value objects for alerts as they arrive, independent of where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


# Not frozen, though never changed after parsing (dataclasses.replace makes changed copies): a frozen
# dataclass's __init__ costs 3.4 us against 0.8, 17 ms of the 5,000 alerts of a resent group.
@dataclass(slots=True)
class AlertSignal:
    """One alert instance as reported by Alertmanager: identity is (fingerprint, starts_at)."""

    fingerprint: str
    status: str  # "firing" | "resolved"
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str = ""

    @property
    def firing(self) -> bool:
        """True while the alert is firing."""
        return self.status == "firing"


@dataclass(frozen=True, slots=True)
class SkippedAlert:
    """An alert of a batch that could not be used, and why."""

    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class Origin:
    """Who sent a batch: the timeline's source (an ActionSource value) and actor, and how messages name it."""

    source: str = "alertmanager"
    actor: str = "alertmanager"
    name: str = "Alertmanager"


ALERTMANAGER = Origin()


@dataclass(frozen=True, slots=True)
class AlertBatch:
    """One webhook's worth of alerts sharing Alertmanager's group (or another sender's)."""

    group_key: str
    receiver: str
    external_url: str
    group_labels: dict[str, str]
    alerts: list[AlertSignal]
    skipped: list[SkippedAlert] = field(default_factory=list)
    truncated_alerts: int = 0
    origin: Origin = ALERTMANAGER
