"""One delivery attempt: check the URL again, sign the event, POST it, judge the answer.

The URL is checked at every attempt, not only at registration: what a name resolves to
can change, and the check's answer is the address the attempt connects to.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from datetime import datetime

from common.webhook_address import Resolver, UnsafeUrl, check_url, parse_networks, system_resolver
from common.webhook_deliveries import Claim
from notifier.settings import NotifierSettings
from notifier.signing import HEADER, signature_header
from notifier.transport import TransportError, post

_EXCERPT_CHARS = 200


@dataclass(frozen=True)
class Result:
    ok: bool
    status_code: int | None  # None: no HTTP answer at all
    error: str | None        # why it failed, in words for the delivery log


def _excerpt(body: bytes) -> str:
    text = re.sub(r"\s+", " ", body.decode("utf-8", errors="replace")).strip()
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text[:_EXCERPT_CHARS]


def judge(status: int, body: bytes, location: str | None) -> Result:
    """2xx is delivered; anything else is a failure to retry (a redirect included)."""
    if 200 <= status < 300:
        return Result(True, status, None)
    if 300 <= status < 400:
        where = f" to {location[:_EXCERPT_CHARS]}" if location else ""
        return Result(False, status, f"HTTP {status}: redirect{where} not followed")
    excerpt = _excerpt(body)
    return Result(False, status, f"HTTP {status}" + (f": {excerpt}" if excerpt else ""))


class Sender:
    def __init__(self, settings: NotifierSettings, *, resolver: Resolver = system_resolver,
                 context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.allowed = parse_networks(settings.webhook_allowed_networks)
        self.resolver = resolver
        self.context = context or ssl.create_default_context(cafile=settings.webhook_ca_file)

    def headers(self, claim: Claim, *, now: datetime) -> dict[str, str]:
        return {
            HEADER: signature_header(claim.secrets, int(now.timestamp()), claim.body.encode()),
            "VideoForge-Event-Id": claim.event_id,
            "VideoForge-Event-Type": claim.event_type,
            "VideoForge-Delivery-Id": claim.delivery_id,
            "VideoForge-Delivery-Attempt": str(claim.attempt),
        }

    def send(self, claim: Claim, *, now: datetime) -> Result:
        try:
            target = check_url(claim.url, allowed_networks=self.allowed, resolver=self.resolver)
        except UnsafeUrl as exc:
            return Result(False, None, f"refused: {exc}")
        s = self.settings
        try:
            answer = post(target, body=claim.body.encode(), headers=self.headers(claim, now=now),
                          connect_timeout=s.webhook_connect_timeout_s,
                          read_timeout=s.webhook_read_timeout_s, budget_s=s.attempt_budget_s(),
                          max_bytes=s.webhook_max_response_bytes, context=self.context)
        except TransportError as exc:
            return Result(False, None, str(exc))
        return judge(answer.status, answer.body, answer.location)
