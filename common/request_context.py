"""Request ids: every request of every HTTP service gets one, echoed as ``X-Request-ID``,
bound to each of its log lines, and logged once in an access line.

Plain ASGI (not BaseHTTPMiddleware) so streamed responses (server-sent events, proxied
bodies) pass through untouched. When the gateway mounts gallery and streaming in its own
process, the id it gave the request is kept (one id, one access line).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.logging import bound, get_logger

log = get_logger("access")

# A caller's X-Request-ID is kept only if it is short and plain (it lands in log lines
# and response headers); anything else is replaced. fullmatch: "$" would let "id\n" by.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HEADER = "X-Request-ID"


def request_id_of(request: Any) -> str | None:
    return getattr(request.state, "request_id", None)


class RequestContextMiddleware:
    """The query string is never logged: presigned grants and tokens may live there."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.setdefault("state", {})
        if scope["type"] != "http" or "request_id" in state:
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        state["request_id"] = request_id
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (HEADER.lower().encode(), request_id.encode())]
            await send(message)

        with bound(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log.info("request", method=scope["method"], path=scope["path"], status=status,
                         duration_ms=round((time.perf_counter() - start) * 1000, 2))
