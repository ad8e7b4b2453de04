"""The delivery connection: to the checked address with the name for TLS and Host, no
redirects followed, answers read only so far, timeouts that hold against slow peers, and
the SSRF rules again at every attempt."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.webhook_address import Target, check_url, parse_networks
from common.webhook_deliveries import Claim
from notifier.sender import Sender
from notifier.settings import NotifierSettings
from notifier.transport import TransportError, post
from tests.support.webhooks import Receiver, fixed_resolver

NAME = "hooks.example.test"  # resolvable only through the test's resolver
LOOPBACK = parse_networks(["127.0.0.0/8"])


def _settings(**extra) -> NotifierSettings:
    return NotifierSettings(webhook_allowed_networks=["127.0.0.0/8"],
                            webhook_connect_timeout_s=1, webhook_read_timeout_s=1, **extra)


def _claim(url: str) -> Claim:
    return Claim(delivery_id="d1", token="t", attempt=1, endpoint_id="e1", url=url,
                 secrets=("whsec_x",), event_id="evt_1", event_type="job.queued", body="{}")


def _post(target: Target, **kw):
    return post(target, body=b"{}", headers={}, connect_timeout=1, read_timeout=1,
                budget_s=kw.pop("budget_s", 3), max_bytes=kw.pop("max_bytes", 1024), **kw)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for NAME (and only NAME)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", f"/CN={NAME}",
                    "-addext", f"subjectAltName=DNS:{NAME}"],
                   check=True, capture_output=True)
    return cert, key


def test_https_goes_to_the_checked_address_with_the_name_for_tls_and_host(tls_files) -> None:
    cert, key = tls_files
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    receiver = Receiver(tls=server_tls)
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return fixed_resolver({NAME: ["127.0.0.1"]})(host, port)

    try:
        sender = Sender(_settings(webhook_ca_file=str(cert)), resolver=resolve)
        url = f"https://{NAME}:{receiver.port}/in"
        result = sender.send(_claim(url), now=datetime.now(UTC))
        assert result.ok, result.error
        [got] = receiver.wait_for(1)
        # The system cannot resolve NAME, so this arrived at the address checked; the
        # certificate for NAME verified, so SNI and the check used the name.
        assert got.headers["Host"] == f"{NAME}:{receiver.port}" and calls == [NAME]
        # The same server under another name fails the certificate check.
        other = Sender(_settings(webhook_ca_file=str(cert)),
                       resolver=fixed_resolver({"other.test": ["127.0.0.1"]}))
        bad = other.send(_claim(f"https://other.test:{receiver.port}/in"),
                         now=datetime.now(UTC))
        assert not bad.ok and "certificate" in (bad.error or "")
    finally:
        receiver.close()


def test_refused_at_delivery_when_the_name_now_resolves_somewhere_private() -> None:
    receiver = Receiver()
    try:
        sender = Sender(NotifierSettings(), resolver=fixed_resolver({NAME: ["127.0.0.1"]}))
        result = sender.send(_claim(f"https://{NAME}:{receiver.port}/"),
                             now=datetime.now(UTC))
        assert not result.ok and result.status_code is None
        assert "refused" in (result.error or "") and "loopback" in (result.error or "")
        unsafe = Sender(NotifierSettings()).send(  # the system resolver: really loopback
            _claim(f"https://localhost:{receiver.port}/"),
                             now=datetime.now(UTC))
        assert not unsafe.ok and "loopback" in (unsafe.error or "")
        assert receiver.received == []
    finally:
        receiver.close()


def test_redirects_are_not_followed() -> None:
    target_receiver = Receiver()
    redirector = Receiver(fail_first=10, fail_status=307,
                          response_headers={"Location": target_receiver.url("/elsewhere")})
    try:
        sender = Sender(_settings())
        result = sender.send(_claim(redirector.url()), now=datetime.now(UTC))
        assert not result.ok and result.status_code == 307
        elsewhere = target_receiver.url("/elsewhere")
        assert result.error == f"HTTP 307: redirect to {elsewhere} not followed"
        assert len(redirector.wait_for(1)) == 1 and target_receiver.received == []
    finally:
        redirector.close()
        target_receiver.close()


def test_answers_are_read_only_up_to_the_cap() -> None:
    big = Receiver(fail_first=1, fail_status=500, response_body=b"x" * 1_000_000)
    try:
        target = check_url(big.url(), allowed_networks=LOOPBACK)
        answer = _post(target, max_bytes=1000)
        assert answer.status == 500 and len(answer.body) == 1000
    finally:
        big.close()


def _silent_server(trickle: bool) -> tuple[socket.socket, threading.Event]:
    """Accepts, reads the request, then never answers (or trickles a byte a second)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        if trickle:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 100:
                if stop.wait(0.5):
                    break
                conn.send(bytes([byte]))
        stop.wait(30)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener, stop


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickling"])
def test_a_slow_peer_is_cut_off_by_the_timeouts(trickle: bool) -> None:
    listener, stop = _silent_server(trickle)
    port = listener.getsockname()[1]
    try:
        target = check_url(f"http://127.0.0.1:{port}/", allowed_networks=LOOPBACK)
        started = time.monotonic()
        with pytest.raises(TransportError, match="timed out"):
            _post(target, budget_s=2.5)
        assert time.monotonic() - started < 4
    finally:
        stop.set()
        listener.close()


def test_nothing_listening_is_a_transport_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    target = check_url(f"http://127.0.0.1:{port}/", allowed_networks=LOOPBACK)
    with pytest.raises(TransportError, match="refused"):
        _post(target)
