"""What the email channel needs: the SMTP server, the sender, the TLS mode, the dashboard's address."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr

TLS_MODES = ("starttls", "tls", "none")


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """SMTP server and sender; email is on when a host is set."""

    smtp_host: str
    from_addr: str
    smtp_port: int = 587
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: str = "starttls"  # starttls | tls | none
    public_url: str = "http://localhost:8080"
    timeout: float = 30.0


def check_address(value: str, name: str) -> str:
    """An address such as ops@example.com or 'Tocsin <tocsin@example.com>'; ValueError says what is wrong."""
    if any(c in value for c in "\r\n"):
        raise ValueError(f"{name}: expected one email address on one line")
    display, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or " " in address:
        raise ValueError(f"{name}={value!r}: expected an email address such as tocsin@example.com")
    try:
        Address(display_name=display, addr_spec=address)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{name}={value!r}: expected an email address ({exc})") from None
    return value
