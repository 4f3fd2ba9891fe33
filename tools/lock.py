"""Refresh the hash-pinned locks of the whole dependency tree: `python -m tools.lock`.

requirements/runtime.lock: what the image installs (pyproject's dependencies and the build backend);
requirements/dev.lock: that plus the test and perf extras (what CI installs), pinned to the same versions.
Both are universal (valid on every Python Tocsin supports, on Linux, macOS and Windows) and list every
file's hash, so `pip install --require-hashes` refuses anything else. They are resolved by uv from the
index pip is configured to use on this machine (pip's own `index-url`, else its default); no index is
written into the files. `--check` fails when pyproject.toml asks for something the locks do not satisfy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "requirements"
RUNTIME, DEV = LOCKS / "runtime.lock", LOCKS / "dev.lock"
PYTHON = "3.11"  # the oldest supported: a universal lock holds for this and every later version
COMMAND = "python -m tools.lock"


def _pip_index() -> list[str]:
    """pip's configured index on this machine, passed on to uv (nothing is written to the repository)."""
    found = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                           capture_output=True, text=True, check=False)
    url = found.stdout.strip()
    return ["--index-url", url] if found.returncode == 0 and url else []


def _uv() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise SystemExit("tools.lock: uv is not installed: pip install -e '.[test]'")
    return uv


def _compile(output: Path, *sources: str, build: str, upgrade: bool, extra: list[str]) -> None:
    command = [_uv(), "pip", "compile", *sources, "--universal", "--python-version", PYTHON, "--generate-hashes",
               "--no-emit-index-url", "--no-emit-find-links", "--custom-compile-command", COMMAND,
               "--quiet", "-o", str(output.relative_to(ROOT)), *_pip_index(), *extra]
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, cwd=ROOT, check=True, input=build, text=True)  # noqa: S603 - runs uv with fixed arguments and the machine's pip index


def refresh(upgrade: bool) -> None:
    """Write both locks (keeping current pins unless `upgrade`)."""
    LOCKS.mkdir(exist_ok=True)
    # The build backend too (read from stdin, "-"), so `pip wheel --no-build-isolation` is pinned as well.
    build = "\n".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]) + "\n"
    _compile(RUNTIME, "pyproject.toml", "-", build=build, upgrade=upgrade, extra=[])
    _compile(DEV, "pyproject.toml", "-", "--extra", "test", "--extra", "perf", build=build, upgrade=upgrade,
             extra=["--constraint", str(RUNTIME.relative_to(ROOT))])


def main(argv: list[str] | None = None) -> int:
    """Refresh the locks, or check (`--check`) that they are current."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="move every pin to the newest allowed version")
    parser.add_argument("--check", action="store_true", help="exit 1 if the locks would change")
    args = parser.parse_args(argv)
    if not args.check:
        refresh(args.upgrade)
        return 0
    before = {path: path.read_text() for path in (RUNTIME, DEV)}
    try:
        refresh(upgrade=False)
        changed = [str(p.relative_to(ROOT)) for p, text in before.items() if p.read_text() != text]
    finally:
        for path, text in before.items():
            path.write_text(text)
    if changed:
        print(f"tools.lock: {', '.join(changed)} out of date with pyproject.toml: run {COMMAND}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
