"""One POST to a checked webhook target, and nothing more.

The connection goes to ``target.address``, the address the SSRF check approved, while TLS
(SNI and certificate) and the Host header use the name: no second DNS lookup can send it
elsewhere. Connect and read timeouts apply, a watchdog ends the whole attempt after its
budget however slowly the peer trickles bytes, redirects are answers (never followed), and
at most ``max_bytes`` of the response body are read.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from common.webhook_address import Target

USER_AGENT = "VideoForge-Webhooks/1"


class TransportError(Exception):
    """No HTTP answer: connect, TLS, timeout or protocol failure (the message says which)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes          # at most max_bytes
    location: str | None


def _pinned(base: type[http.client.HTTPConnection]) -> Any:
    class Pinned(base):  # type: ignore[valid-type,misc]
        """Connects to a fixed address instead of resolving ``host``."""

        def __init__(self, target: Target, *, connect_timeout: float, read_timeout: float,
                     **kwargs: Any) -> None:
            super().__init__(target.host, target.port, timeout=read_timeout, **kwargs)
            self._address = target.address
            self._connect_timeout = connect_timeout

        def connect(self) -> None:
            sock = socket.create_connection((self._address, self.port), self._connect_timeout)
            sock.settimeout(self.timeout)
            if isinstance(self, http.client.HTTPSConnection):
                sock = self._context.wrap_socket(sock, server_hostname=self.host)
            self.sock = sock

    return Pinned


_PinnedHTTP = _pinned(http.client.HTTPConnection)
_PinnedHTTPS = _pinned(http.client.HTTPSConnection)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP response ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"[:200]


def post(target: Target, *, body: bytes, headers: dict[str, str], connect_timeout: float,
         read_timeout: float, budget_s: float, max_bytes: int,
         context: ssl.SSLContext | None = None) -> Answer:
    """POST ``body`` to ``target``; an :class:`Answer` for any HTTP status, else
    :class:`TransportError`. The whole attempt is cut off after ``budget_s``."""
    if target.scheme == "https":
        conn = _PinnedHTTPS(target, connect_timeout=connect_timeout, read_timeout=read_timeout,
                            context=context or ssl.create_default_context())
    else:
        conn = _PinnedHTTP(target, connect_timeout=connect_timeout, read_timeout=read_timeout)
    # The watchdog: past the budget, shut the socket so a blocked read returns at once.
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        if conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(budget_s, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", target.path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT,
            "Connection": "close", **headers})
        response = conn.getresponse()
        data = response.read(max_bytes) if max_bytes else b""
        return Answer(response.status, data, response.getheader("Location"))
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise TransportError("timed out (the attempt's time budget ran out)") from None
        raise TransportError(_describe(exc)) from None
    finally:
        watchdog.cancel()
        conn.close()
