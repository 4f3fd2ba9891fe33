"""Hostile input to the other senders' endpoints through a real `tocsin serve` (valid token and routing key, so the
parsers are reached): hypothesis mutates Grafana's and PagerDuty's bodies and sends anything at all. No 5xx, no
traceback in the server's log, and every refusal names what was wrong: Tocsin's error for Grafana, PagerDuty's
{"status", "message", "errors"} for the events API."""

from __future__ import annotations

import asyncio
import copy
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import load_grafana_sample
from tests.faults.test_hostile_input import FUZZ, HOSTILE_TEXT, JSON, mutated
from tests.support.server import TocsinProcess, tocsin_env

pytestmark = pytest.mark.faults
TOKEN = "hostile-integrations-token"
KEY = "0123456789abcdef0123456789abcdef"
GRAFANA = load_grafana_sample("01_firing_2alerts.json")
GRAFANA_KEYS = ["version", "groupKey", "orgId", "state", "title", "message", "alerts", "groupLabels", "receiver",
                "truncatedAlerts"]
ALERT_KEYS = ["status", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "dashboardURL", "panelURL",
              "silenceURL", "imageURL", "values", "valueString"]
EVENT = {"routing_key": KEY, "event_action": "trigger", "dedup_key": "fuzz",
         "payload": {"summary": "s", "source": "x", "severity": "error", "custom_details": {"a": 1}},
         "links": [{"href": "https://x.example", "text": "x"}], "images": [{"src": "https://x.example/i.png"}]}
EVENT_KEYS = ["event_action", "dedup_key", "payload", "links", "images", "client", "client_url"]
PAYLOAD_KEYS = ["summary", "source", "severity", "component", "group", "class", "timestamp", "custom_details"]


@pytest.fixture(scope="module")
def server(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TocsinProcess]:
    url = asyncio.run(postgres.fresh_database())
    folder: Path = tmp_path_factory.mktemp("hostile-integrations")
    config = folder / "tocsin.yml"
    config.write_text(f"integrations:\n  - {{id: fuzz, kind: pagerduty_events, routing_key: {KEY}}}\n")
    process = TocsinProcess(tocsin_env(url, WEBHOOK_TOKEN=TOKEN, TOCSIN_CONFIG=str(config),
                                       WEBHOOK_MAX_BYTES="65536"), folder / "tocsin.log")
    process.start()
    yield process
    process.stop()
    asyncio.run(postgres.drop(url))


def post(server: TocsinProcess, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(server.url + path, data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    return status, json.loads(body)


@st.composite
def mutated_grafana(draw: st.DrawFn) -> dict[str, Any]:
    """Grafana's body with some top-level and per-alert fields replaced by anything."""
    return mutated(draw, GRAFANA, GRAFANA_KEYS, ALERT_KEYS)


@st.composite
def mutated_event(draw: st.DrawFn) -> dict[str, Any]:
    """A valid trigger with some fields (and payload fields) replaced by anything; the routing key kept."""
    body = copy.deepcopy(EVENT)
    body["event_action"] = draw(st.sampled_from(["trigger", "acknowledge", "resolve"]))
    body["dedup_key"] = draw(HOSTILE_TEXT)
    for key in draw(st.lists(st.sampled_from(EVENT_KEYS), max_size=2)):
        body[key] = draw(JSON)
    if isinstance(body.get("payload"), dict):
        for key in draw(st.lists(st.sampled_from(PAYLOAD_KEYS), max_size=3)):
            body["payload"][key] = draw(JSON)
    return body


def no_crash(server: TocsinProcess, status: int) -> None:
    assert status < 500
    assert "Traceback" not in server.log(), server.log()[-3000:]


@FUZZ
@given(body=st.one_of(mutated_grafana(), JSON))
def test_grafana_fuzz(server: TocsinProcess, body: Any) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    status, answer = post(server, "/api/v1/webhooks/grafana", json.dumps(body).encode(), headers)
    no_crash(server, status)
    assert status in (200, 400, 422), answer
    if status == 200:
        assert isinstance(answer["incidents"], list) and isinstance(answer["skipped"], list)
    else:
        assert answer["error"]["code"] and answer["error"]["message"]  # named


@FUZZ
@given(body=st.one_of(mutated_event(), JSON), path=st.sampled_from(["/api/v1/events/v2/enqueue", "/v2/enqueue"]))
def test_pagerduty_events_fuzz(server: TocsinProcess, body: Any, path: str) -> None:
    status, answer = post(server, path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    no_crash(server, status)
    assert status in (202, 400), answer
    if status == 202:
        assert answer["status"] == "success" and isinstance(answer["dedup_key"], str)
    else:
        assert answer["status"] == "invalid event" and answer["message"]
        assert answer["errors"] and all(isinstance(e, str) and e for e in answer["errors"])  # each names a field


@FUZZ
@given(raw=st.binary(max_size=300), content_type=st.sampled_from(["application/json", "text/plain", ""]))
def test_raw_bytes_to_both(server: TocsinProcess, raw: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    status, answer = post(server, "/v2/enqueue", raw, headers)
    no_crash(server, status)
    assert status == 400 and answer["errors"], answer
    status, answer = post(server, "/api/v1/webhooks/grafana", raw, {**headers, "Authorization": f"Bearer {TOKEN}"})
    no_crash(server, status)
    assert status in (200, 400, 415, 422) and (status == 200 or answer["error"]["message"]), answer


def test_a_body_too_large_is_refused_in_each_senders_shape(server: TocsinProcess) -> None:
    big = json.dumps({**EVENT, "padding": "x" * 70_000}).encode()
    status, answer = post(server, "/v2/enqueue", big, {"Content-Type": "application/json"})
    assert status == 413 and "WEBHOOK_MAX_BYTES" in answer["message"] and answer["errors"]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    status, answer = post(server, "/api/v1/webhooks/grafana", big, headers)
    assert status == 413 and answer["error"]["code"] == "payload_too_large"
