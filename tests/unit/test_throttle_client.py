"""Who a request's client is (X-Forwarded-For only through TRUSTED_PROXIES), and the 429 it gets when blocked."""

from __future__ import annotations

import pytest

from store.domain.throttle import UNKNOWN, client_address, client_key, parse_networks
from store.throttle import TooManyFailures

PROXIES = parse_networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # the peer is no proxy: its header is not believed
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),  # a trusted proxy names the client
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # the client's own entry (left) is ignored
        ("10.0.0.2", ["198.51.100.1, 10.0.0.7"], "198.51.100.1"),  # through two trusted proxies
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # several headers read as one list
        ("10.0.0.2", [], "10.0.0.2"),  # no header: the proxy itself
        ("10.0.0.2", ["10.0.0.3, 10.0.0.4"], "10.0.0.3"),  # every hop trusted: the farthest one
        ("10.0.0.2", ["not-an-address, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["198.51.100.1, garbage"], "10.0.0.2"),  # a proxy would never write that: stop at the peer
        ("::1", ["2001:db8::5"], "2001:db8::5"),
        ("10.0.0.2", ["[2001:db8::5]:443"], "2001:db8::5"),
        ("10.0.0.2", ["198.51.100.1:5555"], "198.51.100.1"),
        ("<local>", ["198.51.100.1"], UNKNOWN),
        (None, [], UNKNOWN),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address("10.0.0.2", ["198.51.100.1"], ()) == "10.0.0.2"


def test_ipv6_clients_are_counted_by_their_64_network() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key("192.0.2.1") == "192.0.2.1"


def test_bad_proxy_entries_are_named() -> None:
    with pytest.raises(ValueError, match="'10.0.0.300'"):
        parse_networks(["10.0.0.300"])


def test_the_429_says_when_to_come_back() -> None:
    error = TooManyFailures(12.2)
    assert error.status == 429 and error.code == "too_many_failures"
    assert error.headers == {"Retry-After": "13"} and "13 s" in error.message
    assert TooManyFailures(0.01).headers["Retry-After"] == "1"
