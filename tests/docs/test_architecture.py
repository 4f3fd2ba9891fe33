"""The package rules of docs/architecture.md hold for every import in the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.docs.markdown import ROOT

OURS = {"store", "webhook", "bot", "scheduler", "web", "migrations", "tools"}
PAGE = ROOT / "docs" / "architecture.md"


def _rules() -> dict[str, set[str] | None]:
    """Package folder -> the packages it may import (None: everything), from the page's table."""
    table = PAGE.read_text().split("## Packages and their rules", 1)[1].split("\n## ", 1)[0]
    rules: dict[str, set[str] | None] = {}
    for folder, allowed in re.findall(r"^\| `([a-z_/]+)/` \|[^|]*\| (.+?) \|$", table, re.M):
        rules[folder] = None if allowed.strip() == "everything" else set(re.findall(r"`([a-z_.]+)`", allowed))
    return rules


def _owner(path: Path, rules: dict[str, set[str] | None]) -> str | None:
    """The most specific package folder of the table that holds this file."""
    relative = path.relative_to(ROOT).as_posix()
    matches = [folder for folder in rules if relative.startswith(folder + "/")]
    return max(matches, key=len) if matches else None


def _imported(module: str) -> str:
    """An import as the table names it: `store.domain`, `store.sql`, else the top package."""
    parts = module.split(".")
    if parts[0] == "store" and len(parts) > 1 and parts[1] in ("domain", "sql"):
        return f"store.{parts[1]}"
    return parts[0]


def test_every_import_follows_the_package_rules() -> None:
    rules = _rules()
    assert {"store/domain", "store/sql", "store", "webhook", "bot", "scheduler", "web"} <= set(rules)
    broken = []
    for folder in {f.split("/")[0] for f in rules}:
        for path in sorted((ROOT / folder).rglob("*.py")):
            owner = _owner(path, rules)
            allowed = rules.get(owner) if owner else None
            if owner is None or allowed is None:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
                for name in names:
                    if name.split(".")[0] in OURS and _imported(name) not in allowed:
                        broken.append(f"{path.relative_to(ROOT)} imports {name} (allowed: {sorted(allowed)})")
    assert not broken, "\n".join(broken)
