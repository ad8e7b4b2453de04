"""The gateway ASGI app: ``create_app(settings)``, and ``app`` for ``uvicorn gateway.app:app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.middleware import Middleware

from common.broker import Broker
from common.webapp import service_app
from gateway import auth_routes, jobs, proxy, web, webhooks
from gateway.middleware import RateLimitMiddleware
from gateway.settings import GatewaySettings
from gateway.state import GatewayState

_PLACEHOLDER = """<!doctype html><html><head><meta charset="utf-8"><title>VideoForge</title>
</head><body><h1>VideoForge</h1><p>The API is at <a href="/docs">/docs</a>.</p></body></html>"""


def create_app(settings: GatewaySettings | None = None, *, broker: Broker | None = None) -> Any:
    """The gateway app. ``broker`` replaces the SQS queue (e.g. an in-memory one).

    With ``VF_GATEWAY_MODE=mount`` (the default) the gallery and streaming apps run in
    this process, so one ``create_app`` gives the whole HTTP side of the platform."""
    settings = settings or GatewaySettings()
    state = GatewayState(settings, broker=broker)
    app = service_app(
        service="gateway", state=state, title="VideoForge gateway",
        description="Sign-in, job submission and status, and one origin for the gallery "
                    "and streaming APIs. Errors are `{\"error\": {\"code\", \"message\"}}`.",
    )
    upstreams = proxy.upstreams(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with proxy.running(upstreams):
            yield

    app.router.lifespan_context = lifespan
    app.include_router(auth_routes.router)
    app.include_router(jobs.router)
    app.include_router(webhooks.router)
    _install_index(app)
    web.mount_web(app)
    app.router.routes.extend(proxy.routes(upstreams))

    # Outermost first: request context -> metrics (service_app) -> CORS -> rate limit.
    # Appending puts a middleware inside the ones already there, so 429s are measured too.
    if settings.cors_origins:
        app.user_middleware.append(Middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
            allow_headers=["*"], expose_headers=["Retry-After", "X-Request-ID", "Location"]))
    app.user_middleware.append(Middleware(RateLimitMiddleware, state=state))
    return app


def _install_index(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def index() -> Response:
        page = web.STATIC_DIR / "index.html"
        return FileResponse(page) if page.is_file() else HTMLResponse(_PLACEHOLDER)


def __getattr__(name: str) -> Any:
    # ``gateway.app:app`` is built on first access, so importing this module (tests,
    # ``create_app`` callers) does not read the environment or connect anything.
    if name == "app":
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(name)
