"""The caller's address from X-Forwarded-For: trusted hops counted from the right."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from common.client_ip import client_ip


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
