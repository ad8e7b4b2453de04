"""The gateway ASGI app: ``create_app(settings)``, and ``app`` for ``uvicorn gateway.app:app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response

from common.broker import Broker
from common.logging import configure_logging
from common.metrics import install_http_metrics
from gateway import auth_routes, errors, jobs, proxy, web
from gateway.context import GatewayContext
from gateway.middleware import RateLimitMiddleware, RequestContextMiddleware
from gateway.settings import GatewaySettings

STATIC_DIR = Path(__file__).parent / "static"

_PLACEHOLDER = """<!doctype html><html><head><meta charset="utf-8"><title>VideoForge</title>
</head><body><h1>VideoForge</h1><p>The API is at <a href="/docs">/docs</a>.</p></body></html>"""


def create_app(settings: GatewaySettings | None = None, *, broker: Broker | None = None) -> Any:
    """The gateway app. ``broker`` replaces the SQS queue (e.g. an in-memory one)."""
    settings = settings or GatewaySettings()
    configure_logging(env=settings.env, level=settings.log_level)
    ctx = GatewayContext(settings, broker=broker)
    upstreams = proxy.upstreams(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with proxy.running(upstreams):
            yield

    app = FastAPI(
        title="VideoForge gateway",
        version="1.0.0",
        description="Sign-in, job submission and status, and one origin for the gallery "
                    "and streaming APIs. Errors are `{\"error\": {\"code\", \"message\"}}`.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    app.include_router(auth_routes.router)
    app.include_router(jobs.router)
    _install_pages(app)
    web.mount_web(app)
    app.router.routes.extend(proxy.routes(upstreams))

    # Added innermost first: request context -> metrics -> CORS -> rate limit -> routes.
    app.add_middleware(RateLimitMiddleware, ctx=ctx)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["*"], allow_headers=["*"],
                           expose_headers=["Retry-After", "X-Request-ID", "Location"])
    install_http_metrics(app, service="gateway")
    app.add_middleware(RequestContextMiddleware)
    return app


def _install_pages(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        page = STATIC_DIR / "index.html"
        return FileResponse(page) if page.is_file() else HTMLResponse(_PLACEHOLDER)


def __getattr__(name: str) -> Any:
    # ``gateway.app:app`` is built on first access, so importing this module (tests,
    # ``create_app`` callers) does not read the environment or connect anything.
    if name == "app":
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(name)
