"""Throttling authentication failures (pure): who the client is, and how many failures a window allows.

A client is one address: an IPv4 address, or the /64 network of an IPv6 address (one host usually holds
a whole /64, so counting single IPv6 addresses would let it try without limit). Behind proxies the
address comes from X-Forwarded-For, read from the right and only through hops in TRUSTED_PROXIES.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"
IPV6_PREFIX = 64


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """At most `limit` failed attempts per client within `window` seconds; then 429 until the window ends."""

    limit: int = 10
    window: float = 600.0


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs ('10.0.0.1', '10.0.0.0/8', '::1'); ValueError names the bad one."""
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR (such as 10.0.0.0/8 or 2001:db8::/32)") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:1234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the nearest untrusted hop
    of X-Forwarded-For (read right to left; an entry that is no address ends the walk at the last good hop)."""
    hop = _address(peer or "")
    if hop is None:
        return UNKNOWN
    if not _trusted(hop, trusted):
        return str(hop)
    entries = [entry for header in forwarded_for for entry in header.split(",")]
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            break
        hop = address
        if not _trusted(hop, trusted):
            break
    return str(hop)


def client_key(address: str) -> str:
    """What failures are counted under: the IPv4 address, or the IPv6 address's /64 network."""
    parsed = _address(address)
    if parsed is None:
        return address[:64] or UNKNOWN
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))
    return str(parsed)
