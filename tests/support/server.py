"""Run `tocsin serve` as a real process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


PORT_BLOCKS = 8  # pytest-xdist workers gw0..gw6 and any other process (a benchmark, a run without xdist)
_taken: set[int] = set()


def _port_block() -> range:
    """This process's own ports: below the range the kernel takes clients' ports from, one block per xdist worker.

    A port the kernel picked (bind to port 0) was free only until the socket closed: a client connection or
    another worker's server could take it before `tocsin serve` bound it (seen in CI: a replica failed to bind
    and /readyz answered from someone else's server)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    start = 10_000
    size = max(50, (low - start) // PORT_BLOCKS)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) % (PORT_BLOCKS - 1) if worker.startswith("gw") and worker[2:].isdigit() else PORT_BLOCKS - 1
    return range(start + index * size, start + (index + 1) * size)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now and no other test process will hand out."""
    block = _port_block()
    offset = os.getpid() * 37 % len(block)  # two separate test runs at once start at different places
    for _ in range(2):  # once every port was handed out, the earliest are long closed: hand them out again
        for step in range(len(block)):
            port = block[(offset + step) % len(block)]
            if port in _taken:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _taken.add(port)
            return port
        _taken.clear()
    raise RuntimeError(f"no free port left in {block}")


class TocsinProcess:
    """`python -m web.cli serve` with the given environment; stdout and stderr go to a log file."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), "PYTHONPATH": str(ROOT), **env}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> TocsinProcess:
        """Start the process without waiting (several replicas start side by side)."""
        log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "web.cli", "serve"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 60) -> TocsinProcess:
        """Wait until /readyz answers 200."""
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tocsin serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"tocsin serve did not become ready:\n{self.log()}")

    def start(self, timeout: float = 60) -> TocsinProcess:
        """Start and wait until /readyz answers 200."""
        return self.launch().wait_ready(timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send a signal and wait for the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def tocsin_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a tocsin subprocess on this test's database (this worktree's code first)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ANONYMOUS_", "METRICS_", "TLS_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=database_url, LOG_LEVEL="warning", **extra)
    return env


def run_cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `tocsin ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        env=tocsin_env(database_url, **env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _wait_ready(url: str, context: ssl.SSLContext | None, process: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"tocsin serve exited with {process.returncode}: {errors}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"tocsin serve did not answer {url}/healthz within {seconds}s")


@contextmanager
def serving(
    database_url: str, scheme: str = "http", context: ssl.SSLContext | None = None, **env: str
) -> Iterator[str]:
    """`tocsin serve` on a free port until the block ends; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "serve"],
        env=tocsin_env(database_url, HOST="127.0.0.1", PORT=str(port), **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        _wait_ready(url, context, process, 60)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
