"""Assemble a FastAPI service the same way everywhere: logging, the typed app state,
request ids, security headers, the uniform error body (domain errors included), the docs
page, Prometheus metrics on ``/metrics`` and a ``/healthz`` probe."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from common.app_state import ServiceState
from common.docs_page import install_docs
from common.http import install_error_handlers
from common.logging import configure_logging
from common.metrics import install_http_metrics
from common.request_context import RequestContextMiddleware
from common.security_headers import SecurityHeaders


def service_app(*, service: str, state: ServiceState[Any], title: str,
                description: str) -> FastAPI:
    settings = state.settings
    configure_logging(env=settings.env, level=settings.log_level)
    # Our own /docs (a CSP that fits it); no ReDoc: one docs page is enough.
    app = FastAPI(title=title, version="1.0.0", description=description, docs_url=None,
                  redoc_url=None)
    app.state.service = state
    install_error_handlers(app)
    install_http_metrics(app, service=service)
    install_docs(app)
    app.add_middleware(SecurityHeaders, trusted_proxies=settings.trusted_proxies)
    # Outermost: every response, 429s and errors included, carries the request id.
    app.add_middleware(RequestContextMiddleware)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
