"""The caller's address from X-Forwarded-For: trusted hops counted from the right."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from common.client_ip import client_ip, client_scheme


def _request(*forwarded: str, peer: str = "192.0.2.1") -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "headers": headers, "client": (peer, 5000)})


@pytest.mark.parametrize(("forwarded", "trusted", "expected"), [
    ((), 0, "192.0.2.1"),
    (("198.51.100.1",), 0, "192.0.2.1"),                        # not behind a proxy
    (("198.51.100.1",), 1, "198.51.100.1"),
    (("6.6.6.6, 198.51.100.1",), 1, "198.51.100.1"),            # forged entry on the left
    (("6.6.6.6, 198.51.100.1, 10.0.0.2",), 2, "198.51.100.1"),
    (("6.6.6.6", "198.51.100.1"), 1, "198.51.100.1"),           # two copies of the header
    (("198.51.100.1",), 2, "192.0.2.1"),                        # fewer hops than trusted
    ((), 1, "192.0.2.1"),
    (("198.51.100.1:4711",), 1, "198.51.100.1"),                # with a port
    (("[2001:db8::1]:443",), 1, "2001:db8::1"),
    (("2001:db8::1",), 1, "2001:db8::1"),
    (("not-an-address",), 1, "192.0.2.1"),
])
def test_client_ip(forwarded: tuple[str, ...], trusted: int, expected: str) -> None:
    assert client_ip(_request(*forwarded), trusted) == expected


def _via(forwarded: str | None, proto: str | None, *, scheme: str = "http") -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    headers += [(b"x-forwarded-proto", proto.encode())] if proto is not None else []
    return Request({"type": "http", "headers": headers, "client": ("192.0.2.1", 5000),
                    "scheme": scheme})


@pytest.mark.parametrize(("forwarded", "proto", "trusted", "expected"), [
    ("198.51.100.1", "https", 0, "http"),                      # not behind a proxy
    ("198.51.100.1", "https", 1, "https"),
    ("198.51.100.1", "https, http", 1, "http"),                # forged https on the left
    ("198.51.100.1, 10.0.0.2", "https, http", 2, "https"),     # the outermost proxy's word
    ("198.51.100.1, 10.0.0.2", "http", 2, "http"),             # overwritten: not that hop's
    ("198.51.100.1, 10.0.0.2", "https", 2, "http"),
    (None, "https", 1, "http"),                                # bypass: no client IP hop
    ("198.51.100.1", "https", 2, "http"),                      # chain too short for both
    ("198.51.100.1", None, 1, "http"),
    ("198.51.100.1", "gopher", 1, "http"),
])
def test_scheme_comes_from_the_hop_that_names_the_client(
        forwarded: str | None, proto: str | None, trusted: int, expected: str) -> None:
    assert client_scheme(_via(forwarded, proto), trusted) == expected
    # Over a TLS connection with no trusted word, the connection's own scheme stands.
    if expected == "http" and trusted and proto != "https, http":
        assert client_scheme(_via(forwarded, proto, scheme="https"), trusted) == "https"
