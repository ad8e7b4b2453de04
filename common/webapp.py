"""Assemble a FastAPI service the same way everywhere: logging, the typed app state,
request ids, security headers, the uniform error body (domain errors included), the docs
page, Prometheus metrics on a listener of their own and a ``/healthz`` probe."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from common.app_state import ServiceState
from common.docs_page import install_docs
from common.http import install_error_handlers
from common.logging import configure_logging
from common.metrics import install_http_metrics, metrics_listener
from common.request_context import RequestContextMiddleware
from common.security_headers import SecurityHeaders

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _freeze_start_up() -> None:
    """Move what start-up built (modules, apps, models, clients: the process's lifetime)
    out of the garbage collector's scans, once per process. Otherwise every full
    collection, which requests trigger every few hundred, walks all of it again: several
    per cent of a request's CPU. Garbage is collected first, so none is kept for good."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def service_app(*, service: str, state: ServiceState[Any], title: str, description: str,
                metrics_port: int = 0, lifespan: Lifespan | None = None,
                mounted: bool = False) -> FastAPI:
    """The app, serving its metrics on ``metrics_port`` (0: none; a mounted app's counts
    are served by its host) while it runs; ``lifespan`` is the service's own startup and
    shutdown. Under Lambda (no lifespan) there is no listener: CloudWatch has the
    numbers. ``mounted``: inside the gateway, whose own request-id and security-header
    middleware wrap every request it hands on, so this app does not add them again."""
    settings = state.settings
    configure_logging(env=settings.env, level=settings.log_level)

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        with metrics_listener(metrics_port, service=service):
            if lifespan is None:
                _freeze_start_up()
                yield
            else:
                async with lifespan(app):
                    _freeze_start_up()
                    yield

    # Our own /docs (a CSP that fits it); no ReDoc: one docs page is enough.
    app = FastAPI(title=title, version="1.0.0", description=description, docs_url=None,
                  redoc_url=None, lifespan=run)
    app.state.service = state
    install_error_handlers(app)
    install_http_metrics(app, service=service)
    install_docs(app)
    if not mounted:
        app.add_middleware(SecurityHeaders, trusted_proxies=settings.trusted_proxies)
        # Outermost: every response, 429s and errors included, carries the request id.
        app.add_middleware(RequestContextMiddleware)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
