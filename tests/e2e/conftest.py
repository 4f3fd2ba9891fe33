"""Browser tests' shared fixture: Debian's chromium, launched through Playwright once per module."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.dashboard import CHROMIUM_ARGS


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium")
    assert executable, "chromium is not installed: apt-get install chromium (.ci/run installs it)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()
