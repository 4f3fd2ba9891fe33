"""The ASGI servers Tocsin could run on, compared by the CPU one small POST through Quart costs them.

    python tests/perf/bench_servers.py [--seconds 8] [--connections 50]

Serves a one-route Quart app (it reads the body and answers JSON, like the webhook without the
database) under hypercorn (h11), uvicorn (httptools, uvloop) and granian in turn, posts to it from this
process for the given seconds, and prints requests/s and the server's CPU per request (psutil, the
server process and its children). Install the servers first: `pip install hypercorn uvicorn httptools granian`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

APP = '''
from quart import Quart, request
app = Quart("bench")

@app.post("/w")
async def w():
    await request.get_data()
    return {"incidents": [1], "skipped": []}
'''
HYPERCORN = '''
import sys, uvloop
from hypercorn.asyncio import serve
from hypercorn.config import Config
from app import app
config = Config()
config.bind = [f"127.0.0.1:{sys.argv[1]}"]
config.accesslog = None
uvloop.run(serve(app, config))
'''
UVICORN = '''
import sys, uvicorn
uvicorn.run("app:app", host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
            log_level="warning", access_log=False)
'''


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(server: str, folder: Path, port: int) -> list[str]:
    if server == "granian":
        return [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
                "--loop", "uvloop", "--log-level", "warning", "app:app"]
    return [sys.executable, str(folder / f"{server}_main.py"), str(port)]


async def _load(url: str, seconds: float, connections: int) -> int:
    done = 0
    stop = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as http:
        async def one() -> None:
            nonlocal done
            while time.monotonic() < stop:
                async with http.post(url, data=b'{"version":"4","alerts":[]}',
                                     headers={"Content-Type": "application/json"}) as answer:
                    await answer.read()
                done += 1
        await asyncio.gather(*(one() for _ in range(connections)))
    return done


async def _ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.post(url, data=b"{}", headers={"Content-Type": "application/json"}) as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def _cpu(process: psutil.Process) -> float:
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def main() -> None:
    """Each server in turn: requests/s and CPU ms per request."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "app.py").write_text(APP)
        (folder / "hypercorn_main.py").write_text(HYPERCORN)
        (folder / "uvicorn_main.py").write_text(UVICORN)
        for server in ("hypercorn", "uvicorn", "granian"):
            port = _port()
            proc = subprocess.Popen(_command(server, folder, port), cwd=folder, stderr=subprocess.DEVNULL)
            try:
                url = f"http://127.0.0.1:{port}/w"
                asyncio.run(_ready(url))
                watched = psutil.Process(proc.pid)
                before = _cpu(watched)
                done = asyncio.run(_load(url, args.seconds, args.connections))
                used = _cpu(watched) - before
                print(f"{server:10} {done / args.seconds:8.1f} requests/s  {used / done * 1000:.3f} ms CPU per request",
                      flush=True)
            finally:
                proc.terminate()
                proc.wait(10)


if __name__ == "__main__":
    main()
