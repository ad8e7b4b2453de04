"""Assemble a FastAPI service the same way everywhere: logging, shared state, request
ids, the uniform error body, Prometheus metrics on ``/metrics`` and a ``/healthz`` probe."""

from __future__ import annotations

from fastapi import FastAPI

from common.deps import init_state
from common.http import install_error_handlers
from common.logging import configure_logging
from common.metrics import install_http_metrics
from common.request_context import RequestContextMiddleware
from common.settings import CommonSettings


def service_app(*, service: str, settings: CommonSettings, title: str,
                description: str) -> FastAPI:
    configure_logging(env=settings.env, level=settings.log_level)
    app = FastAPI(title=title, version="1.0.0", description=description)
    init_state(app, settings)
    install_error_handlers(app)
    install_http_metrics(app, service=service)
    # Outermost: every response, 429s and errors included, carries the request id.
    app.add_middleware(RequestContextMiddleware)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
