"""ASGI middleware of the gateway: rate limiting (request ids: common.request_context).

Plain ASGI (not BaseHTTPMiddleware) so that streamed responses (server-sent
events, proxied bodies) pass through untouched.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from common.auth import AuthError
from common.client_ip import client_ip
from common.http import error_body
from common.logging import get_logger
from gateway.rate_limit import Bucket, Decision, route_class
from gateway.state import GatewayState

log = get_logger("gateway.rate_limit")


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, state: GatewayState) -> None:
        self.app = app
        self.state = state

    def _user_id(self, request: Request) -> str | None:
        """The signed-in caller; None for anonymous callers and bad tokens alike (the
        route answers those with 401, and until then they count against their IP)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or self.state.verifier is None:
            return None
        try:
            return self.state.verifier.verify(token.strip()).user_id
        except AuthError:
            return None

    def _decide(self, request: Request, klass: str) -> Decision:
        settings = self.state.settings
        limit = settings.limit(klass)
        prefix = f"{settings.rate_limit_prefix}{klass}:"
        buckets = [Bucket(prefix + "ip:" + client_ip(request, settings.trusted_proxies), limit)]
        if user_id := self._user_id(request):
            buckets.append(Bucket(prefix + "user:" + user_id, limit))
        return self.state.limiter.acquire(buckets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        klass = route_class(scope.get("method", ""), scope.get("path", ""))
        if scope["type"] != "http" or klass is None or not self.state.settings.rate_limit_enabled:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        # Token verification and the Redis round trip block, so they share one thread hop.
        decision = await run_in_threadpool(self._decide, request, klass)
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        log.info("rate_limited", route_class=klass)
        message = f"too many {klass} requests; retry after {decision.retry_after_header} s"
        response = JSONResponse(error_body("rate_limited", message), 429,
                                headers={"Retry-After": decision.retry_after_header})
        await response(scope, receive, send)
