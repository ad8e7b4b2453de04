"""Assemble a FastAPI service the same way everywhere: logging, the typed app state,
request ids, the uniform error body (domain errors included), Prometheus metrics on
``/metrics`` and a ``/healthz`` probe."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from common.app_state import ServiceState
from common.http import install_error_handlers
from common.logging import configure_logging
from common.metrics import install_http_metrics
from common.request_context import RequestContextMiddleware


def service_app(*, service: str, state: ServiceState[Any], title: str,
                description: str) -> FastAPI:
    settings = state.settings
    configure_logging(env=settings.env, level=settings.log_level)
    app = FastAPI(title=title, version="1.0.0", description=description)
    app.state.service = state
    install_error_handlers(app)
    install_http_metrics(app, service=service)
    # Outermost: every response, 429s and errors included, carries the request id.
    app.add_middleware(RequestContextMiddleware)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
