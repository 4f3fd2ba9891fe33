"""Reading the Markdown docs: fenced blocks with the marker comment before them.

Markers (an HTML comment on the line before the fence, invisible when rendered):
  <!-- snippet: run [exit=N] [cwd=repo] -->   a shell block the docs tests run
  <!-- snippet: manual: WHY -->               a shell block that cannot run here (installs, root, Docker...)
  <!-- file: NAME -->                         a block written to NAME in the page's scratch directory first
  <!-- error: CASE -->                        an answer or log line that tests/docs/test_troubleshooting.py checks
  <!-- output -->                             what the `run` block just before prints (each line must appear)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLS = ("sh", "bash", "shell", "console")
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!--\s*(?P<kind>snippet|file|error|output):?\s*(?P<value>.*?)\s*-->\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced block of a page and the marker before it (kind '' when none)."""

    page: Path
    line: int
    lang: str
    body: str
    kind: str
    value: str

    @property
    def where(self) -> str:
        """page:line, for messages."""
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """Every Markdown page of the docs: README.md, CONTRIBUTING.md and docs/."""
    found = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [p for p in found if p.exists()]


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of one page, in order."""
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        start = text.count("\n", 0, match.start())
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        indent = match.group("indent")
        body = "".join(line[len(indent):] if line.startswith(indent) else line
                       for line in match.group("body").splitlines(keepends=True))
        found.append(Block(page, start + 1, match.group("lang"), body,
                           marker.group("kind") if marker else "", marker.group("value") if marker else ""))
    return found


def error_quotes(page: Path) -> dict[str, str]:
    """CASE -> the quoted text of each `<!-- error: CASE -->` block."""
    return {b.value: b.body.strip() for b in blocks(page) if b.kind == "error"}
