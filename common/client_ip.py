"""The caller's IP address (and scheme): one rule for rate limits, view counts, logs and
the HSTS header.

Every reverse proxy in front of us appends the address it received the request from to
``X-Forwarded-For``. With ``trusted_proxies`` = N such proxies, the N right-most entries
were written by them, and the N-th from the right is the address the outermost one saw:
the caller. Everything left of it came from the caller and is never believed.

A header with fewer entries than N means the request did not come through every trusted
proxy (a bypass or a misconfiguration). Then no entry is known to be a proxy's, so the
peer address is used: it may lump callers together, but no caller can choose it.
"""

from __future__ import annotations

import ipaddress
import time

from starlette.requests import HTTPConnection

from common.logging import get_logger

log = get_logger(__name__)

UNKNOWN = "unknown"
# A bypassing client could send a malformed chain on every request: say so once a minute.
_WARN_EVERY_S = 60.0
_last_warning = 0.0


def _warn(event: str, **fields: int) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY_S:
        _last_warning = now
        log.warning(event, **fields)


def _address(entry: str) -> str | None:
    """The IP in one X-Forwarded-For entry (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``)."""
    entry = entry.strip()
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def forwarded_hops(conn: HTTPConnection) -> list[str]:
    """Every X-Forwarded-For entry, left to right, over all copies of the header."""
    return [hop.strip() for value in conn.headers.getlist("x-forwarded-for")
            for hop in value.split(",") if hop.strip()]


def _outermost_trusted(entries: list[str], trusted_proxies: int) -> str | None:
    """The entry the outermost trusted proxy wrote (N-th from the right), or None when
    the chain is shorter than the proxies trusted: then none is known to be theirs."""
    return entries[-trusted_proxies] if len(entries) >= trusted_proxies else None


def client_ip(conn: HTTPConnection, trusted_proxies: int) -> str:
    peer = conn.client.host if conn.client else UNKNOWN
    if trusted_proxies <= 0:
        return peer
    hops = forwarded_hops(conn)
    entry = _outermost_trusted(hops, trusted_proxies)
    if entry is None:
        _warn("forwarded_for_too_short", hops=len(hops), trusted_proxies=trusted_proxies)
        return peer
    address = _address(entry)
    if address is None:  # a trusted proxy wrote something that is not an address
        _warn("forwarded_for_not_an_address")
        return peer
    return address


def client_scheme(conn: HTTPConnection, trusted_proxies: int) -> str:
    """``https`` or ``http`` as the caller connected: the scheme of this connection, or
    behind trusted proxies the X-Forwarded-Proto entry of the same hop that names the
    client IP, the outermost trusted proxy's (N-th from the right). When either header
    is shorter than N (a bypass, or a proxy that overwrites instead of appending), no
    entry is known to be that proxy's, and the connection's own scheme is used, as
    :func:`client_ip` then uses the peer: a caller never chooses its scheme."""
    scheme = str(conn.scope.get("scheme", "http"))
    if trusted_proxies <= 0 or _outermost_trusted(forwarded_hops(conn), trusted_proxies) is None:
        return scheme
    entries = [entry.strip().lower() for value in conn.headers.getlist("x-forwarded-proto")
               for entry in value.split(",") if entry.strip()]
    chosen = _outermost_trusted(entries, trusted_proxies)
    return chosen if chosen in ("http", "https") else scheme
