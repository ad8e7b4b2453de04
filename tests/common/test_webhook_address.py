"""The SSRF rules for webhook URLs: public addresses only, every resolved address checked,
names that really resolve to loopback refused, an explicit allowlist to open loopback."""

from __future__ import annotations

import pytest

from common.webhook_address import UnsafeUrl, check_url, parse_networks, system_resolver
from tests.support.webhooks import fixed_resolver

LOOPBACK = parse_networks(["127.0.0.0/8", "::1/128"])
ANSWERS = {"public.test": ["93.184.216.34"], "v6.test": ["2606:4700::1111"],
           "mixed.test": ["93.184.216.34", "10.1.2.3"], "cgnat.test": ["100.64.0.9"],
           "mapped.test": ["::ffff:169.254.169.254"], "nat64.test": ["64:ff9b::a00:1"],
           "ula.test": ["fd12::1"], "linklocal.test": ["fe80::1%eth0"]}
resolve = fixed_resolver(ANSWERS)


def test_a_public_name_gives_the_checked_address_and_keeps_the_name() -> None:
    target = check_url("https://public.test:8443/hooks?a=1", resolver=resolve)
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https", "public.test", 8443, "/hooks?a=1", "93.184.216.34")
    assert check_url("https://v6.test", resolver=resolve).path == "/"


@pytest.mark.parametrize("url, why", [
    ("https://localhost/x", "loopback"),                 # the system resolver, for real
    ("https://127.0.0.1/x", "loopback"),
    ("https://127.1.2.3/x", "loopback"),
    ("https://[::1]/x", "loopback"),
    ("https://0.0.0.0/x", "unspecified"),
    ("https://169.254.169.254/latest", "metadata"),
    ("https://[fd00:ec2::254]/", "metadata"),
    ("https://mapped.test/", "metadata"),               # IPv4-mapped IPv6
    ("https://nat64.test/", "private"),                 # NAT64 of 10.0.0.1
    ("https://10.0.0.1/x", "private"),
    ("https://172.16.0.1/x", "private"),
    ("https://192.168.0.1/x", "private"),
    ("https://ula.test/x", "private"),
    ("https://linklocal.test/x", "link-local"),
    ("https://cgnat.test/x", "non-public"),
    ("https://224.0.0.1/x", "multicast"),
    ("https://mixed.test/x", "10.1.2.3"),               # one bad answer is enough
    ("http://public.test/x", "https://"),
    ("https://missing.test/x", "does not resolve"),
    ("https://public.test:99999/x", "not a valid URL"),
    ("https://a b.test/", "whitespace"),
    ("https://" + "a" * 2050 + ".test/", "longer than"),
])
def test_refused(url: str, why: str) -> None:
    def resolver(host: str, port: int) -> list[str]:
        return system_resolver(host, port) if host == "localhost" else resolve(host, port)

    with pytest.raises(UnsafeUrl, match=why):
        check_url(url, resolver=resolver)


def test_the_allowlist_opens_only_its_networks_and_http_only_there() -> None:
    target = check_url("http://localhost:8080/x", allowed_networks=LOOPBACK)
    assert target.address == "127.0.0.1" and target.scheme == "http"
    assert check_url("https://[::1]:9/", allowed_networks=LOOPBACK).address == "::1"
    with pytest.raises(UnsafeUrl, match="private"):
        check_url("https://10.0.0.1/", allowed_networks=LOOPBACK)
    with pytest.raises(UnsafeUrl, match="https://"):
        check_url("http://public.test/", allowed_networks=LOOPBACK, resolver=resolve)
