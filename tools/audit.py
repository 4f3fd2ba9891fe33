"""Known vulnerabilities in the locked dependencies: `python -m tools.audit` (CI runs it).

pip-audit reads requirements/runtime.lock and requirements/dev.lock (hash-pinned, so nothing is resolved
again) and asks its vulnerability service about each pinned version. Any finding fails, unless
requirements/audit-allow.toml lists its id (or an alias) with a reason and an expiry date that has not
passed; an expired or incomplete entry fails too, so every exception is looked at again.

When the service answers for no package at all (a machine that reaches the package index but not its
vulnerability API), nothing could be checked: that is said loudly, and fails only with --require-data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCKS = (ROOT / "requirements" / "runtime.lock", ROOT / "requirements" / "dev.lock")
ALLOW = ROOT / "requirements" / "audit-allow.toml"


@dataclass(frozen=True, slots=True)
class Allowed:
    """One accepted finding: which, why, until when."""

    id: str
    reason: str
    expires: dt.date


@dataclass(slots=True)
class Verdict:
    """What the audit found: lines to print, and whether the run fails."""

    problems: list[str]
    notes: list[str]
    audited: int
    skipped: int


def read_allow(text: str, today: dt.date) -> tuple[dict[str, Allowed], list[str]]:
    """The allow file's entries still in force, and the problems of the others (expired, incomplete)."""
    entries: dict[str, Allowed] = {}
    problems = []
    for index, entry in enumerate(tomllib.loads(text).get("allow", [])):
        ident, reason, expires = entry.get("id"), entry.get("reason"), entry.get("expires")
        if not isinstance(ident, str) or not isinstance(reason, str) or not reason.strip():
            problems.append(f"audit-allow.toml: allow[{index}]: expected an id and a reason")
        elif not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            problems.append(f"audit-allow.toml: {ident}: expected expires = YYYY-MM-DD")
        elif expires < today:
            problems.append(f"audit-allow.toml: {ident} expired on {expires}: fix it or look again ({reason})")
        else:
            entries[ident] = Allowed(ident, reason, expires)
    return entries, problems


def judge(report: dict[str, Any], allowed: dict[str, Allowed]) -> Verdict:
    """Findings of pip-audit's JSON report that no allow entry covers are problems."""
    verdict = Verdict([], [], 0, 0)
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            verdict.skipped += 1
            continue
        verdict.audited += 1
        for vuln in dep.get("vulns", []):
            names = [vuln["id"], *vuln.get("aliases", [])]
            entry = next((allowed[n] for n in names if n in allowed), None)
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no release yet"
            where = f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})"
            if entry is None:
                verdict.problems.append(where)
            else:
                verdict.notes.append(f"{where}: allowed until {entry.expires}: {entry.reason}")
    return verdict


def run_pip_audit() -> dict[str, Any]:
    """pip-audit's JSON report on both locks (no resolution: every requirement is pinned and hashed)."""
    command = [sys.executable, "-m", "pip_audit", "--require-hashes", "--disable-pip", "--format", "json",
               "--progress-spinner", "off"]
    for lock in LOCKS:
        command += ["-r", str(lock)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - runs pip-audit of this interpreter with fixed arguments
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise SystemExit(f"tools.audit: pip-audit gave no report (exit {done.returncode}):\n{done.stderr}") from None


def main(argv: list[str] | None = None) -> int:
    """Audit the locks; exit 1 on a finding not allowed, or an expired or incomplete allow entry."""
    parser = argparse.ArgumentParser(prog="python -m tools.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--require-data", action="store_true",
                        help="fail when the vulnerability service answered for no package")
    args = parser.parse_args(argv)
    allowed, problems = read_allow(ALLOW.read_text(), dt.date.today())
    verdict = judge(run_pip_audit(), allowed)
    problems += verdict.problems
    for line in verdict.notes:
        print(f"audit: {line}")
    for line in problems:
        print(f"audit: FAIL: {line}", file=sys.stderr)
    total = verdict.audited + verdict.skipped
    if verdict.audited == 0 and total:
        print(f"audit: NOT CHECKED: the vulnerability service answered for none of the {total} locked packages "
              "(is its API reachable from here?)", file=sys.stderr)
        if args.require_data:
            return 1
    elif verdict.skipped:
        problems.append(f"{verdict.skipped} of {total} packages could not be checked")
        print(f"audit: FAIL: {problems[-1]}", file=sys.stderr)
    else:
        print(f"audit: {verdict.audited} locked packages checked, {len(verdict.problems)} findings not allowed")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
