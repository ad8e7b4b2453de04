"""Which webhook URLs may be called, and the one address a call goes to.

A webhook URL is chosen by a user and called by our servers, so it must never reach
something only our servers can reach: loopback, private networks, link-local addresses
(cloud metadata lives there) and the like. The name is resolved once, every address it
resolves to is checked, and the caller connects to the checked address itself (with the
name kept for TLS and the Host header), so a second lookup cannot swap in another address
(DNS rebinding). Loopback and the like open only through an explicit allowlist of
networks (the local stack and the tests), and only there is plain http accepted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses it resolves to (getaddrinfo's, or a test's).
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2048  # the webhook_endpoints.url column
# Instance metadata services, named so the refusal says what it would have reached.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack
    "169.254.170.2",    # AWS ECS task metadata
    "fd00:ec2::254",    # AWS over IPv6
    "100.100.100.200",  # Alibaba Cloud
))
_REFUSED_KINDS = (
    ("loopback", "a loopback address"), ("link_local", "a link-local address"),
    ("unspecified", "an unspecified address"), ("multicast", "a multicast address"),
    ("private", "a private address"), ("reserved", "a reserved address"),
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix


class UnsafeUrl(ValueError):
    """A URL we will not call; the message says why in words a user can act on."""


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address``, say ``host`` (SNI, Host header)."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    address: str


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeUrl(f"{host} does not resolve ({exc.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _parse(url: str) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UnsafeUrl("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl("the URL must start with https://")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("the URL must not carry a user name or password")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.fragment:
        raise UnsafeUrl("the URL must not have a #fragment")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), which is where a
    connection to it really goes."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not be called, or None if it is a public address."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal(embedded)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for kind, words in _REFUSED_KINDS:
        if getattr(address, f"is_{kind}"):
            return words
    if not address.is_global:
        return "a non-public address"
    return None


def _allowed(address: IPAddress, allowed: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in allowed)


def check_url(url: str, *, allowed_networks: tuple[Network, ...] = (),
              resolver: Resolver = system_resolver) -> Target:
    """The checked target of ``url``, or :class:`UnsafeUrl` saying why it is refused."""
    scheme, host, port, path = _parse(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    names = [str(literal)] if literal else resolver(host, port)
    if not names:
        raise UnsafeUrl(f"{host} does not resolve")
    addresses = [ipaddress.ip_address(n.split("%", 1)[0]) for n in names]
    for address in addresses:
        if _allowed(address, allowed_networks):
            continue
        why = refusal(address)
        if why:
            raise UnsafeUrl(f"{host} resolves to {address}, {why}; webhooks go to public "
                            "addresses only")
    if scheme == "http" and not all(_allowed(a, allowed_networks) for a in addresses):
        raise UnsafeUrl("the URL must start with https:// (plain http only to allowlisted "
                        "networks)")
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))
