"""docs/integrations.md tells webhook receivers how to check X-Tocsin-Signature: the page's own Python function,
run as a receiver would copy it, accepts what Tocsin signs and refuses a changed body, another secret, an old
timestamp and a malformed header (without raising)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from bot.outgoing.webhooks import SIGNATURE, body_of, headers_of
from store.domain.outgoing import Webhook
from tests.docs.markdown import ROOT, blocks
from tests.support.incident_values import make_event, make_incident
from web.api.shapes import event_json, incident_json

PAGE = ROOT / "docs" / "integrations.md"
SECRET = "whsec-docs-0123456789abcdef"
Verify = Callable[..., bool]


@pytest.fixture(scope="module")
def verify() -> Verify:
    """The `verify` function of the page's Python block, defined as a receiver would paste it."""
    (block,) = [b for b in blocks(PAGE) if b.lang == "python" and "def verify(" in b.body]
    namespace: dict[str, object] = {}
    exec(compile(block.body, str(PAGE), "exec"), namespace)  # noqa: S102 - the docs' own example
    found = namespace["verify"]
    assert callable(found)
    return found


def signed(now: float) -> tuple[bytes, str]:
    """A body and its X-Tocsin-Signature as Tocsin's webhook channel makes them, signed at `now`."""
    webhook = Webhook("audit", "https://hooks.example.com/tocsin", secret=SECRET)
    event = make_event("acknowledged")
    body, content_type = body_of(webhook, incident_json(make_incident(), "https://tocsin.example"), event_json(event))
    return body, headers_of(webhook, event, body, content_type, now)[SIGNATURE]


def test_the_pages_verify_accepts_what_tocsin_signs(verify: Verify) -> None:
    body, header = signed(time.time())
    assert verify(SECRET, header, body)
    assert json.loads(body)["event"]["kind"] == "acknowledged"


@pytest.mark.parametrize("change", ["body", "secret", "old", "no-v1", "no-t", "garbage", "empty"])
def test_the_pages_verify_refuses_what_is_not_tocsins_or_not_recent(verify: Verify, change: str) -> None:
    body, header = signed(time.time() - 3600 if change == "old" else time.time())
    secret = "another-secret-0123456789" if change == "secret" else SECRET
    if change == "body":
        body = body.replace(b'"acknowledged"', b'"resolved"', 1)
    header = {"no-v1": header.split(",")[0], "no-t": header.split(",")[1], "garbage": "not a signature",
              "empty": ""}.get(change, header)
    assert verify(secret, header, body) is False


def test_the_pages_shell_example_signs_as_tocsin_does() -> None:
    """The shell example's fixed body, secret and t give the HEX shown under it (the snippet test runs it)."""
    webhook = Webhook("audit", "https://hooks.example.com/tocsin", secret="8c4c1f6a2e9d4b7f8a1c3e5d7f9b0a2c")
    body = b'{"webhook": "audit"}'
    header = headers_of(webhook, make_event("opened"), body, "application/json", 1795712550)[SIGNATURE]
    text = PAGE.read_text()
    assert "X-Tocsin-Signature: t=1795712550,v1=HEX" in text
    assert header.split("v1=")[1] in text
