"""Webhook test helpers: a real HTTP receiver on loopback that can fail the
first N deliveries, a resolver that answers what a test says, and cleanup of the tables."""

from __future__ import annotations

import hashlib
import hmac
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import text

from common.db import engine_for

WEBHOOK_TABLES = "webhook_deliveries, webhook_endpoints, events"


def truncate_webhooks(database_url: str) -> None:
    with engine_for(database_url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {WEBHOOK_TABLES} CASCADE"))
        else:
            for table in WEBHOOK_TABLES.split(", "):
                conn.execute(text(f"DELETE FROM {table}"))


def fixed_resolver(answers: dict[str, list[str]]) -> Any:
    """A resolver for :func:`common.webhook_address.check_url` that knows only ``answers``."""

    def resolve(host: str, port: int) -> list[str]:
        from common.webhook_address import UnsafeUrl

        if host not in answers:
            raise UnsafeUrl(f"{host} does not resolve (test resolver)")
        return answers[host]

    return resolve


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival


@dataclass
class Receiver:
    """A loopback HTTP(S) server: answers ``fail_status`` to the first ``fail_first``
    requests, then ``ok_status``; records every request."""

    fail_first: int = 0
    fail_status: int = 500
    ok_status: int = 204
    response_body: bytes = b""
    tls: ssl.SSLContext | None = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()),
                                                      body, time.monotonic()))
                    failing = len(receiver.received) <= receiver.fail_first
                status = receiver.fail_status if failing else receiver.ok_status
                self.send_response(status)
                self.send_header("Content-Length", str(len(receiver.response_body)))
                self.end_headers()
                self.wfile.write(receiver.response_body)

            def log_message(self, *args: Any) -> None:
                pass

        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hooks") -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} of {count} requests arrived")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signature_valid(header: str, body: bytes, secret: str, *, now: float,
                    tolerance_s: float = 300) -> bool:
    """An independent check of ``VideoForge-Signature`` (the README shows the same)."""
    parts = [p.split("=", 1) for p in header.split(",")]
    t = int(next(v for k, v in parts if k == "t"))
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(now - t) <= tolerance_s and any(
        k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)
