"""Post many webhooks the way Alertmanager does: retry a 5xx or a dropped connection until it is stored."""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support.incidents import firing_body


def group_body(group: str, alerts: int | range = 2, status: str = "firing") -> dict[str, Any]:
    """A webhook of its own group with `alerts` alerts (a count, or which ones: fingerprints fp-GROUP-N)."""
    body = firing_body(group)
    first = body["alerts"][0]
    body["alerts"] = []
    for n in range(alerts) if isinstance(alerts, int) else alerts:
        alert = copy.deepcopy(first)
        alert["fingerprint"] = f"fp-{group}-{n}"
        alert["labels"] = {**alert["labels"], "instance": f"node-{n}"}
        alert["status"] = status
        body["alerts"].append(alert)
    return body


class Sender:
    """Posts bodies to a URL with a bearer token, retrying as Alertmanager would; records every status seen."""

    def __init__(self, url: str, token: str, give_up: float = 90.0) -> None:
        self.url = url
        self.token = token
        self.give_up = give_up
        self.statuses: Counter[int] = Counter()  # 0: no HTTP answer (refused, reset)

    def post(self, body: dict[str, Any]) -> int:
        """Post until 2xx or 4xx (bounded by give_up); returns the final status."""
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        deadline = time.monotonic() + self.give_up
        delay = 0.1
        while True:
            status = self._once(data, headers)
            self.statuses[status] += 1
            if 200 <= status < 500 or time.monotonic() > deadline:
                return status
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _once(self, data: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def post_all(self, bodies: list[dict[str, Any]], workers: int = 4) -> list[int]:
        """Post every body, `workers` at a time; the final statuses in order."""
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(self.post, bodies))
