"""One origin for the browser: ``/api/gallery/*``, ``/api/upload/*`` and ``/api/stream/*``
reach the gallery and streaming services through the gateway.

Two ways: ``mount`` runs their ASGI apps inside this process (the local stack, tests);
``proxy`` forwards each request over HTTP to their URLs, streaming both bodies and
returning status, headers and body unchanged. Either way the request first passes the
gateway's middleware (request id, metrics, rate limits), and the path is kept whole, so
a service sees exactly the ``/api/...`` path it defines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi.responses import JSONResponse
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from common.client_ip import forwarded_hops
from common.http import error_body
from common.logging import get_logger
from gateway.mounting import entered
from gateway.settings import GatewaySettings
from gateway.upstream_signing import BodyTooLarge, Signer, canonical_query, read_body

log = get_logger(__name__)

# service -> the path prefixes it answers
ROUTES: dict[str, tuple[str, ...]] = {
    "gallery": ("/api/gallery", "/api/upload"),
    "streaming": ("/api/stream",),
}
# RFC 9110 §7.6.1: connection-specific headers are not forwarded by a proxy.
_HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"trailers", b"transfer-encoding", b"upgrade",
})


class PrefixRoute(BaseRoute):
    """Hands every request under ``prefix`` to ``app`` with its scope (and path) intact."""

    def __init__(self, prefix: str, app: ASGIApp) -> None:
        self.prefix = prefix
        self.app = app
        self.path = prefix + "/{path}"  # the metrics label of everything it routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == self.prefix or
                                        path.startswith(self.prefix + "/")):
            # Named in the child scope: FastAPI's router records only its own routes.
            return Match.FULL, {"route": self}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The service routes on its own: it must not see the gateway's router or route.
        child = {k: v for k, v in scope.items() if k not in ("router", "route", "endpoint")}
        await self.app(child, receive, send)


class UpstreamProxy:
    """An ASGI app that forwards each request to ``base_url`` and streams the answer back."""

    def __init__(self, base_url: str, *, timeout_s: float, signer: Signer | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.signer = signer  # set: every request is SigV4-signed (an IAM-authorised API)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # Built in the serving event loop on first use (a client belongs to one loop).
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False)
        return self._client

    async def openapi_document(self) -> dict[str, Any]:
        """The upstream service's own OpenAPI document."""
        url = self.base_url + "/openapi.json"
        headers = self.signer.sign("GET", url, b"") if self.signer else None
        response = await self._http().get(url, headers=headers)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _request(self, scope: Scope, receive: Receive) -> httpx.Request:
        request = Request(scope, receive)
        headers = [(k, v) for k, v in scope["headers"] if k not in _HOP_BY_HOP and k != b"host"]
        peer = request.client.host if request.client else ""
        # Both chains are appended to, one entry per hop, so that the service reads the
        # scheme from the same hop as the client IP (common/client_ip.py).
        forwarded = ", ".join(forwarded_hops(request))  # every copy of the header
        protos = ", ".join(request.headers.getlist("x-forwarded-proto"))
        scheme = scope.get("scheme", "http")
        headers = [(k, v) for k, v in headers
                   if k not in (b"x-forwarded-for", b"x-forwarded-proto")]
        headers += [
            (b"x-forwarded-for", (f"{forwarded}, {peer}" if forwarded else peer).encode()),
            (b"x-forwarded-proto", (f"{protos}, {scheme}" if protos else scheme).encode()),
            (b"x-forwarded-host", request.headers.get("host", "").encode()),
        ]
        url = httpx.URL(self.base_url + scope.get("root_path", "") + scope["path"],
                        query=scope.get("query_string", b""))
        has_body = any(k in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])
        return self._http().build_request(
            scope["method"], url, headers=headers,
            content=request.stream() if has_body else None,
        )

    async def _signed(self, request: httpx.Request) -> httpx.Request:
        assert self.signer is not None
        body = await read_body(request.stream)  # type: ignore[arg-type]
        url = request.url.copy_with(query=canonical_query(request.url.query.decode()).encode())
        signed = self._http().build_request(request.method, url, content=body or None,
                                            headers=self.signer.forwarded(request.headers.raw))
        signed.headers.update(self.signer.sign(signed.method, str(signed.url), body))
        return signed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = self._request(scope, receive)
            if self.signer is not None:
                request = await self._signed(request)
            upstream = await self._http().send(request, stream=True)
        except BodyTooLarge:
            response = JSONResponse(error_body("too_large",
                                               "the request body is too large"), 413)
            await response(scope, receive, send)
            return
        except httpx.TimeoutException:
            response = JSONResponse(error_body("gateway_timeout", "the upstream service timed out"),
                                    504)
            await response(scope, receive, send)
            return
        except httpx.HTTPError as exc:
            log.warning("upstream_unreachable", upstream=self.base_url,
                        error_type=type(exc).__name__)
            response = JSONResponse(
                error_body("bad_gateway", "the upstream service is unreachable"), 502)
            await response(scope, receive, send)
            return
        streamed = StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code,
                                     background=BackgroundTask(upstream.aclose))
        streamed.raw_headers = [(k, v) for k, v in upstream.headers.raw
                                if k.lower() not in _HOP_BY_HOP]
        await streamed(scope, receive, send)


def upstreams(settings: GatewaySettings, mounts: Mapping[str, ASGIApp] | None) -> dict[str, Any]:
    """service -> the ASGI app that answers its paths, per ``settings.gateway_mode``.

    ``mount`` uses the apps it is given (``videoforge.services`` builds them: the gateway
    imports no other service)."""
    if settings.gateway_mode == "off":
        return {}
    if settings.gateway_mode == "mount":
        given = dict(mounts or {})
        missing = sorted(set(ROUTES) - set(given))
        if missing:
            raise RuntimeError(f"VF_GATEWAY_MODE=mount needs the {', '.join(missing)} app(s): "
                               "build the gateway with videoforge.services")
        return {service: given[service] for service in ROUTES}
    urls = {"gallery": settings.gallery_url, "streaming": settings.streaming_url}
    missing = [f"VF_{s.upper()}_URL" for s, url in urls.items() if not url]
    if missing:
        raise RuntimeError(f"VF_GATEWAY_MODE=proxy needs {', '.join(missing)}")
    signer = Signer(settings.aws_region) if settings.proxy_signing == "sigv4" else None
    return {s: UpstreamProxy(str(url), timeout_s=settings.proxy_timeout_s, signer=signer)
            for s, url in urls.items()}


def routes(apps: dict[str, Any], *, host: Starlette) -> list[BaseRoute]:
    """The routes of ``host`` (the gateway) to each service: a mounted app is entered at
    its router (gateway/mounting.py)."""
    return [PrefixRoute(prefix, entered(app, host=host)) for service, app in apps.items()
            for prefix in ROUTES[service]]


@asynccontextmanager
async def running(apps: dict[str, Any]) -> AsyncIterator[None]:
    """Run the mounted apps' own startup/shutdown, and close proxy connections at the end."""
    async with AsyncExitStack() as stack:
        for app in apps.values():
            if isinstance(app, UpstreamProxy):
                stack.push_async_callback(app.aclose)
            elif hasattr(app, "router"):
                await stack.enter_async_context(app.router.lifespan_context(app))
        yield
