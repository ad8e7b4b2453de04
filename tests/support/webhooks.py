"""Webhook test helpers: a real HTTP receiver on loopback that can fail the
first N deliveries, a resolver that answers what a test says, and cleanup of the tables."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import text

from common.db import engine_for, session_factory
from common.events import EventType, record_event
from common.models import Event, WebhookEndpoint

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


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early is what some tests do


@dataclass
class Receiver:
    """A loopback HTTP(S) server: answers ``fail_status`` to the first ``fail_first``
    requests, then ``ok_status``; records every request."""

    fail_first: int = 0
    fail_status: int = 500
    ok_status: int = 204
    response_body: bytes = b""
    response_headers: dict[str, str] = field(default_factory=dict)
    hold_first_s: float = 0.0  # the first request waits this long for its answer
    fail_when: Callable[[bytes], bool] | None = None  # fail bodies this says to, too
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
                    failing = len(receiver.received) <= receiver.fail_first or bool(
                        receiver.fail_when and receiver.fail_when(body))
                    first = len(receiver.received) == 1
                if first and receiver.hold_first_s:
                    time.sleep(receiver.hold_first_s)
                status = receiver.fail_status if failing else receiver.ok_status
                self.send_response(status)
                for name, value in receiver.response_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.response_body)))
                self.end_headers()
                with contextlib.suppress(ConnectionError):  # the client stopped reading
                    self.wfile.write(receiver.response_body)

            def log_message(self, *args: Any) -> None:
                pass

        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), Handler)
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


class FakeClock:
    """An injected clock the test moves (the 24-hour horizon without waiting 24 hours)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def add_endpoint(database_url: str, *, owner_id: str, url: str,
                 event_types: list[str] | None = None, **fields: Any) -> WebhookEndpoint:
    """A committed endpoint row, as the API would register it (its URL is not checked)."""
    from gateway.webhook_endpoints import new_secret

    fields.setdefault("created_at", datetime.now(UTC) - timedelta(minutes=1))
    with session_factory(database_url)() as session:
        endpoint = WebhookEndpoint(owner_id=owner_id, url=url, secret=new_secret(),
                                   event_types=event_types or [t.value for t in EventType],
                                   **fields)
        session.add(endpoint)
        session.commit()
        return endpoint


def commit_event(database_url: str, *, owner_id: str, subject_id: str = "s1",
                 type: EventType = EventType.JOB_SUCCEEDED,
                 created_at: datetime | None = None) -> Event:
    with session_factory(database_url)() as session:
        event = record_event(session, type=type, owner_id=owner_id, subject_id=subject_id,
                             payload={"subject": subject_id})
        if created_at is not None:
            event.created_at = created_at
        session.commit()
        return event
