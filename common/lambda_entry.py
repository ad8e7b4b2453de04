"""What the gateway's signed hop changes in a Lambda event, undone before the app sees it.

The HTTP API in front of gallery and streaming takes only requests signed with SigV4 by an
IAM principal allowed to invoke it: the gateway's instance role (`videoforge deploy
lambdas`, `videoforge provision`). Two things cannot cross that hop as they are:

- the caller's ``Authorization`` (their Cognito token): the signature takes that header,
  so the gateway sends the token as ``X-Forwarded-Authorization``;
- the caller's ``X-Forwarded-For`` and ``X-Forwarded-Proto`` chains: API Gateway writes
  those headers itself for its integration, so the gateway sends them as
  ``X-Videoforge-Forwarded-For`` and ``-Proto``.

:func:`restore` puts them back, only for an event API Gateway verified as IAM-signed
(``requestContext.authorizer.iam``): then the headers are the gateway's word. The chains
get what API Gateway saw (the gateway's address; https, all it serves), as any proxy
appends its hop, so a
function behind the load balancer, the gateway and API Gateway trusts three hops
(``VF_TRUSTED_PROXIES=3``, see common/client_ip.py). The token is still verified as
always; this only moves it to where the app reads it. On any other event both headers
are dropped: a caller cannot plant them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

FORWARDED_AUTHORIZATION = "x-forwarded-authorization"
FORWARDED_FOR = "x-videoforge-forwarded-for"
FORWARDED_PROTO = "x-videoforge-forwarded-proto"
_MOVED = (FORWARDED_AUTHORIZATION, FORWARDED_FOR, FORWARDED_PROTO)

Handler = Callable[[dict[str, Any], Any], Any]


def iam_signed(event: Mapping[str, Any]) -> bool:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    return bool(authorizer.get("iam"))


def restore(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` (API Gateway payload 2.0) as the caller's request reached the gateway."""
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    moved = {name: headers.pop(name, None) for name in _MOVED}
    if iam_signed(event):
        headers.pop("authorization", None)  # the gateway's signature, not the caller's
        if moved[FORWARDED_AUTHORIZATION]:
            headers["authorization"] = moved[FORWARDED_AUTHORIZATION]
        peer = str(((event.get("requestContext") or {}).get("http") or {}).get("sourceIp", ""))
        chain = [hop for hop in (moved[FORWARDED_FOR], peer) if hop]
        if chain:
            headers["x-forwarded-for"] = ", ".join(chain)
        headers["x-forwarded-proto"] = ", ".join(
            hop for hop in (moved[FORWARDED_PROTO], "https") if hop)
    return {**event, "headers": headers}


def behind_signed_hop(handler: Handler) -> Handler:
    """``handler`` (Mangum's) on the event :func:`restore` gives."""

    def wrapped(event: dict[str, Any], context: Any) -> Any:
        return handler(restore(event), context)

    return wrapped
