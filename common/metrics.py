"""Prometheus metrics shared by the HTTP services, and the metrics-port helper.

Metric names are a contract with ansible/ (alert rules, dashboards): a test checks that
everything those reference is exported here or in processor/metrics.py.

Several worker processes of one service (``videoforge serve --workers N``) count in
prometheus_client's multiprocess mode: each process keeps its values in files in the
service's own ``PROMETHEUS_MULTIPROC_DIR`` (:func:`use_multiprocess_dir`, emptied at
start), and whichever worker holds the metrics port serves the sum over all of them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from common.logging import get_logger

log = get_logger(__name__)

HTTP_REQUESTS = Counter(
    "videoforge_http_requests_total",
    "HTTP requests served, by service, method, route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "videoforge_http_request_duration_seconds",
    "HTTP request latency, by service and route template.",
    ["service", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_ERRORS = Counter(
    "videoforge_http_errors_total",
    "HTTP responses with a 5xx status, by service and route template.",
    ["service", "route"],
)


class _HttpMetrics:
    """Pure ASGI middleware: Starlette's ``@app.middleware("http")`` adds a task and a
    memory stream per request, a cost that shows in p99 at a few hundred requests/s."""

    def __init__(self, app: Any, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # Route templates, not raw paths, keep label cardinality bounded (the router
            # records the matched route in the shared scope).
            template = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(self.service, template).observe(time.perf_counter() - start)
            if status >= 500:
                HTTP_ERRORS.labels(self.service, template).inc()


def install_http_metrics(app: Any, *, service: str) -> None:
    """Count and time every request of a FastAPI/Starlette ``app``. The counts are served
    by :func:`metrics_listener` on a port of their own, never on the app's public port."""
    app.add_middleware(_HttpMetrics, service=service)


def serve_metrics(port: int, addr: str = "0.0.0.0") -> None:
    """Expose the default registry on ``port`` (workers and the autoscaler)."""
    if port > 0:
        start_http_server(port, addr=addr)


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_multiprocess_dir(service: str, port: int) -> Path:
    """Put this process, and the workers it starts after, in multiprocess mode with a
    directory of their own (one per service and port: two services on one machine must
    not sum each other), emptied first: a previous run's files would count again."""
    path = Path(tempfile.gettempdir()) / "videoforge-metrics" / f"{service}-{port}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def _registry() -> CollectorRegistry:
    """What the listener serves: this process's metrics, or in multiprocess mode the sum
    over every worker's files (those of workers that have exited included: counters do
    not go back)."""
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


@contextmanager
def metrics_listener(port: int, *, service: str, addr: str = "0.0.0.0") -> Iterator[None]:
    """The metrics on ``port`` (0: none) while the context lasts.

    A port already taken is logged and skipped, and the service runs on. In multiprocess
    mode that is the usual case (another worker serves everyone's sum); otherwise this
    process's counts are then not scraped."""
    if port <= 0:
        yield
        return
    multiprocess = bool(os.environ.get(MULTIPROC_ENV))
    try:
        server, thread = start_http_server(port, addr=addr, registry=_registry())
    except OSError as exc:
        (log.info if multiprocess else log.warning)(
            "metrics_port_unavailable", service=service, port=port, multiprocess=multiprocess,
            error=exc.strerror or type(exc).__name__)
        yield
        return
    log.info("metrics_serving", service=service, port=port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
