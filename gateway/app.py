"""The gateway ASGI app: ``create_app(settings, mounts=...)``.

The whole HTTP side of the platform in one process (gallery and streaming mounted) is
built by ``videoforge.services`` (``uvicorn --factory videoforge.services:gateway_app``),
which hands this factory the apps to mount: the gateway imports no other service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from common.broker import Broker
from common.webapp import service_app
from gateway import auth_routes, jobs, proxy, usage, web, webhooks
from gateway.middleware import PathNormalizer, RateLimitMiddleware
from gateway.openapi import install_merged_openapi
from gateway.page_policy import bucket_origins, page_csp
from gateway.settings import GatewaySettings
from gateway.state import GatewayState
from gateway.webhook_docs import document_webhooks

_PLACEHOLDER = """<!doctype html><html><head><meta charset="utf-8"><title>VideoForge</title>
</head><body><h1>VideoForge</h1><p>The API is at <a href="/docs">/docs</a>.</p></body></html>"""


def create_app(settings: GatewaySettings | None = None, *, broker: Broker | None = None,
               mounts: Mapping[str, ASGIApp] | None = None) -> FastAPI:
    """The gateway app. ``broker`` replaces the SQS queue (e.g. an in-memory one);
    ``mounts`` are the gallery and streaming apps for ``VF_GATEWAY_MODE=mount``."""
    settings = settings or GatewaySettings()
    state = GatewayState(settings, broker=broker)
    upstreams = proxy.upstreams(settings, mounts)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with proxy.running(upstreams):
            yield

    # Mounted apps count into this process's registry: this listener serves theirs too.
    app = service_app(
        service="gateway", state=state, title="VideoForge gateway",
        description="Sign-in, job submission and status, and one origin for the gallery "
                    "and streaming APIs. Errors are `{\"error\": {\"code\", \"message\"}}`.",
        metrics_port=settings.gateway_metrics_port, lifespan=lifespan,
    )
    app.include_router(auth_routes.router)
    app.include_router(jobs.router)
    app.include_router(webhooks.router)
    document_webhooks(app)
    app.include_router(usage.router)
    _install_index(app, csp=page_csp(bucket_origins(state.s3, settings)))
    web.mount_web(app)
    # First: most requests are for these prefixes, and each route before them would be
    # tried (and missed) on every one. No gateway route shares their prefixes.
    app.router.routes[:0] = proxy.routes(upstreams, host=app)
    install_merged_openapi(app, upstreams)

    # Outermost first: request context -> metrics (service_app) -> path normalisation ->
    # rate limit -> CORS. Appending puts a middleware inside the ones already there, so
    # 429s are measured too. The limiter is outside CORS, which answers preflights itself,
    # so that preflights are counted; its 429s carry the CORS headers of their own.
    cors = _cors_options(settings)
    app.user_middleware.append(Middleware(PathNormalizer))
    app.user_middleware.append(Middleware(RateLimitMiddleware, state=state, cors=cors))
    if cors is not None:
        app.user_middleware.append(Middleware(CORSMiddleware, **cors))
    return app


def _cors_options(settings: GatewaySettings) -> dict[str, Any] | None:
    """CORSMiddleware's options; None when no origin is configured (one origin: none
    are needed)."""
    if not settings.cors_origins:
        return None
    return {"allow_origins": settings.cors_origins, "allow_methods": ["*"],
            "allow_headers": ["*"],
            "expose_headers": ["Retry-After", "X-Request-ID", "Location"]}


def _install_index(app: FastAPI, *, csp: str) -> None:
    headers = {"Content-Security-Policy": csp}

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        page = web.STATIC_DIR / "index.html"
        return (FileResponse(page, headers=headers) if page.is_file() else
                HTMLResponse(_PLACEHOLDER, headers=headers))

