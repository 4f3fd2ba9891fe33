"""Live updates: one LISTEN connection per process, fanned out as server-sent events to its viewers.

Every change commits with a NOTIFY on `tocsin_events` (store/timeline.py); PostgreSQL delivers it to
every replica's listener, so a viewer sees every change whichever replica made it. Events carry only
incident ids and kinds: the page fetches itself again to show what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable

from store.events import EventListener

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 600.0  # streams end now and then: the browser reconnects and its session is checked again
CONNECT_WAIT_SECONDS = 10.0
QUEUE_SIZE = 64
RESYNC = "resync"  # events were lost (a slow viewer, a LISTEN reconnect): refresh the whole page
CLOSE = "close"


class Hub:
    """Streams of this process's viewers; the listener starts with the first and lives until stop()."""

    def __init__(self, dsn: str, max_streams: int = 1000) -> None:
        self.dsn = dsn
        self.max_streams = max_streams
        self.queues: set[asyncio.Queue[str]] = set()
        self.on_change: list[Callable[[str], None]] = []  # also told of each notification (cache expiry)
        self.closed = False
        self._listener: EventListener | None = None
        self._connects = 0

    async def subscribe(self) -> asyncio.Queue[str] | None:
        """A new stream's queue once LISTEN is on (None: too many streams, or shutting down)."""
        if self.closed or len(self.queues) >= self.max_streams:
            return None
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.queues.add(queue)
        if self._listener is None:
            self._listener = EventListener(self.dsn, self._publish, self._on_connect)
            self._listener.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listener.connected.wait(), CONNECT_WAIT_SECONDS)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        """Forget a stream that ended."""
        self.queues.discard(queue)

    def _publish(self, payload: str) -> None:
        for hook in self.on_change:
            hook(payload)
        for queue in list(self.queues):
            _offer(queue, payload)

    def _on_connect(self) -> None:
        self._connects += 1
        if self._connects > 1:  # notifications sent while reconnecting are lost
            self._publish(RESYNC)

    def close(self) -> None:
        """End every stream now (shutdown: the server need not wait for them)."""
        self.closed = True
        for queue in list(self.queues):
            _drain(queue)
            queue.put_nowait(CLOSE)

    async def stop(self) -> None:
        """Close the streams and the LISTEN connection."""
        self.close()
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None


def _drain(queue: asyncio.Queue[str]) -> None:
    while not queue.empty():
        queue.get_nowait()


def _offer(queue: asyncio.Queue[str], item: str) -> None:
    """Queue an event; a viewer too slow to keep up gets one resync instead of a backlog."""
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        _drain(queue)
        queue.put_nowait(RESYNC)


def wanted(payload: str, incident_id: int | None) -> bool:
    """Whether a notification concerns this stream (all of them, or those of one incident)."""
    if incident_id is None:
        return True
    try:
        ids = json.loads(payload).get("incidents", [])
    except (ValueError, AttributeError):
        return True
    return incident_id in ids


def sse(event: str, data: str = "{}") -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {data}\n\n".encode()


async def stream(hub: Hub, queue: asyncio.Queue[str], incident_id: int | None) -> AsyncIterator[bytes]:
    """The event stream of one viewer: ready, then change/resync events and heartbeats, until it ends."""
    ends = time.monotonic() + STREAM_SECONDS
    try:
        yield b"retry: 3000\n\n" + sse("ready")
        while time.monotonic() < ends:
            try:
                item = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if item == CLOSE:
                return
            if item == RESYNC:
                yield sse("resync")
            elif wanted(item, incident_id):
                yield sse("change", item)
    finally:
        hub.unsubscribe(queue)
