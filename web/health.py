"""GET /healthz (the process is alive) and GET /readyz (database reachable, migrations current)."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, current_app

from store.migrate import applied_heads, expected_heads
from store.runtime import UNAVAILABLE, Runtime


def create_blueprint() -> Blueprint:
    """Liveness and readiness probes; they need no token."""
    bp = Blueprint("health", __name__)
    heads = expected_heads()

    @bp.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @bp.get("/readyz")
    async def readyz() -> tuple[dict[str, Any], int]:
        runtime: Runtime = current_app.extensions["tocsin"]
        try:
            async with asyncio.timeout(2):
                async with runtime.db.connection() as conn:
                    applied = await applied_heads(conn)
        except UNAVAILABLE as exc:
            return {"status": "unready", "database": f"unreachable ({type(exc).__name__})"}, 503
        if applied != heads:
            return {"status": "unready", "migrations": {"applied": sorted(applied), "expected": sorted(heads)}}, 503
        config: dict[str, Any] = {"version": runtime.config_version}
        if runtime.config_problem is not None:
            # Still ready: this replica keeps serving with the config in force (taking every replica out of a
            # load balancer over a config mistake would drop the webhooks too); the problem is said here.
            config["problem"] = runtime.config_problem
        return {"status": "ready", "database": "ok", "migrations": sorted(applied), "config": config}, 200

    return bp
