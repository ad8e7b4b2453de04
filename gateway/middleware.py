"""ASGI middleware of the gateway: path normalisation and rate limiting (request ids:
common.request_context).

Plain ASGI (not BaseHTTPMiddleware) so that streamed responses (server-sent
events, proxied bodies) pass through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from common.auth import AuthError
from common.client_ip import client_ip
from common.errors import Unavailable
from common.http import error_body
from common.logging import get_logger
from gateway.rate_limit import Bucket, Decision, route_class
from gateway.state import GatewayState

log = get_logger("gateway.rate_limit")


def normalize_path(path: str) -> str:
    """``path`` with empty and dot segments resolved (RFC 3986 §5.2.4), so ``//api/x``,
    ``/api/./x`` and ``/api/y/../x`` are all ``/api/x``; a trailing slash is kept."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    normal = "/" + "/".join(segments)
    return normal + "/" if segments and path.endswith(("/", "/.", "/..")) else normal


class PathNormalizer:
    """Every request is routed, proxied and rate limited by one path: the normal form.
    Otherwise a spelling the router or an upstream normalises later could land in a
    looser rate-limit class than the route it reaches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            normal = normalize_path(path)
            if normal != path:
                # In place: the outer middleware reads the route from this same scope.
                scope["path"] = normal
                scope["raw_path"] = quote(normal).encode()
        await self.app(scope, receive, send)


class RateLimitMiddleware:
    """``cors``: CORSMiddleware's options, for the 429s this layer answers itself (it sits
    outside CORS so that preflights are counted too)."""

    def __init__(self, app: ASGIApp, *, state: GatewayState,
                 cors: Mapping[str, Any] | None = None) -> None:
        self.app = app
        self.state = state
        self.cors = cors

    def _user_id(self, token: str) -> str | None:
        """The signed-in caller; None for bad tokens and tokens that cannot be checked
        now (the route answers those with 401 or 503; until then they count against
        their IP)."""
        assert self.state.verifier is not None
        try:
            return self.state.verifier.verify(token).user_id
        except (AuthError, Unavailable):
            return None

    async def _decide(self, request: Request, klass: str) -> Decision:
        settings = self.state.settings
        limit = settings.limit(klass)
        prefix = f"{settings.rate_limit_prefix}{klass}:"
        buckets = [Bucket(prefix + "ip:" + client_ip(request, settings.trusted_proxies), limit)]
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        verifier = self.state.verifier
        if scheme.lower() == "bearer" and token and verifier is not None:
            # A token verified before needs no I/O; only a new one (RSA, perhaps a key
            # fetch) takes a thread hop, so the usual request takes none.
            principal = verifier.cached(token)
            user_id = (principal.user_id if principal is not None
                       else await run_in_threadpool(self._user_id, token))
            if user_id:
                buckets.append(Bucket(prefix + "user:" + user_id, limit))
        return await self.state.limiter.acquire_async(buckets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        klass = route_class(scope.get("method", ""), scope.get("path", ""))
        if scope["type"] != "http" or klass is None or not self.state.settings.rate_limit_enabled:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        decision = await self._decide(request, klass)
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        log.info("rate_limited", route_class=klass)
        message = f"too many {klass} requests; retry after {decision.retry_after_header} s"
        refusal: ASGIApp = JSONResponse(error_body("rate_limited", message), 429,
                                        headers={"Retry-After": decision.retry_after_header})
        # With CORS headers, so the page can read Retry-After; but not on a preflight,
        # which CORSMiddleware would answer 200: a bare 429 fails it in the browser.
        if self.cors is not None and klass != "preflight":
            refusal = CORSMiddleware(refusal, **self.cors)
        await refusal(scope, receive, send)
