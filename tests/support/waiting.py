"""Bounded polling for tests that wait on real processes."""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any


def wait_for(
    predicate: Callable[[], Any], timeout: float = 30, what: str = "condition", logs: Callable[[], str] | None = None
) -> Any:
    """Poll until predicate() is truthy (bounded in time); on timeout say what, with the processes' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f"\n{logs()}" if logs else ""))


def wait_ready(url: str, proc: subprocess.Popen[bytes], name: str, log: Callable[[], str], timeout: float) -> None:
    """Wait until GET url answers 200; fail early if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: {log()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not become ready: {log()}")


async def eventually(check: Callable[[], Awaitable[object]], within: float = 15.0, what: str = "condition") -> None:
    """Poll an async check until it returns true (bounded in time); on timeout say what was awaited."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within}s waiting for {what}")
