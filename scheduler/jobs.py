"""Thin scheduler jobs: each calls one store service with the runtime's config and clock."""

from __future__ import annotations

import logging

from store.escalation import announce_handoffs, escalate_due
from store.runtime import UNAVAILABLE, Runtime

log = logging.getLogger(__name__)


async def escalate_job(runtime: Runtime) -> int:
    """Fire the escalation steps that are due now; returns how many fired."""
    try:
        return len(await escalate_due(runtime.db, runtime.config, runtime.clock()))
    except UNAVAILABLE as exc:
        log.warning("escalation run skipped: the database is unavailable (%s)", type(exc).__name__)
        return 0


async def handoff_job(runtime: Runtime) -> int:
    """Announce the handoffs that just happened; returns how many were announced by this replica."""
    try:
        return len(await announce_handoffs(runtime.db, runtime.config, runtime.clock()))
    except UNAVAILABLE as exc:
        log.warning("handoff run skipped: the database is unavailable (%s)", type(exc).__name__)
        return 0
