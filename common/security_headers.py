"""Security headers on every response of every HTTP service.

- ``X-Content-Type-Options: nosniff``: a JSON error or an uploaded name is never sniffed
  into HTML or script.
- ``Referrer-Policy: no-referrer``: page URLs carry video ids; no other site needs them.
- ``Content-Security-Policy``: a response that sets its own keeps it (the web page, the
  docs page); everything else is data, so ``default-src 'none'`` and
  ``frame-ancestors 'none'`` (no framing anywhere, with ``X-Frame-Options: DENY`` for
  browsers that predate frame-ancestors).
- ``Strict-Transport-Security`` when the caller came over https (browsers ignore it over
  http, and sending it there would pin a plain-http deployment by mistake).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.client_ip import client_scheme

DATA_CSP = "default-src 'none'; frame-ancestors 'none'"
# One year, the preload list's minimum; subdomains are not ours to decide.
HSTS = "max-age=31536000"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, trusted_proxies: int = 0) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = client_scheme(HTTPConnection(scope), self.trusted_proxies) == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Content-Security-Policy", DATA_CSP)
                headers.setdefault("X-Frame-Options", "DENY")
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
