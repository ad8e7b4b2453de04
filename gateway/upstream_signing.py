"""SigV4 for what the proxy forwards to the HTTP API: its routes take only IAM-signed
requests (the AWS_IAM authorizer), and the gateway's instance role may invoke that one API
(``execute-api:Invoke``, videoforge/provision/policies.py).

The signature covers the method, path, query, host, date and the body's SHA-256, so the
body is read whole first: bodies to gallery and streaming are small JSON (uploads go
straight to S3), and a Lambda integration takes at most 6 MB anyway. The caller's own
``Authorization`` and ``X-Forwarded-For``/``-Proto`` travel under other names
(common/lambda_entry.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote_plus

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from common.lambda_entry import FORWARDED_AUTHORIZATION, FORWARDED_FOR, FORWARDED_PROTO

SERVICE = "execute-api"
# Lambda quotas: a synchronous invocation's request payload is at most 6 MB.
MAX_BODY_BYTES = 6 * 1024 * 1024
Headers = list[tuple[bytes, bytes]]
# The body is sent whole: its length is the new request's own.
_LENGTH = (b"content-length", b"transfer-encoding")


class BodyTooLarge(Exception):
    """The request body is larger than an upstream function can take."""


async def read_body(chunks: AsyncIterator[bytes], limit: int = MAX_BODY_BYTES) -> bytes:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def canonical_query(raw: str) -> str:
    """``raw`` as SigV4 encodes a query (each name and value percent-encoded, only
    unreserved characters left, a space as %20): botocore signs the query as given, API
    Gateway checks it re-encoded, so a ``+`` or a bare ``,`` would fail the signature.
    ``+`` is a space, as the services' query parsing reads it."""
    pairs = (part.partition("=") for part in raw.split("&") if part)
    return "&".join(f"{quote(unquote_plus(k), safe='-_.~')}={quote(unquote_plus(v), safe='-_.~')}"
                    for k, _, v in pairs)


class Signer:
    """Signs as whoever the AWS credential chain finds: on an instance, its role (the
    credentials refresh themselves before they expire)."""

    def __init__(self, region: str, credentials: Any = None) -> None:
        self.region = region
        found = credentials or botocore.session.get_session().get_credentials()
        if found is None:
            raise RuntimeError("VF_PROXY_SIGNING=sigv4 needs AWS credentials (the instance "
                               "role): none were found")
        self._credentials: Any = found

    @staticmethod
    def forwarded(headers: Headers) -> Headers:
        """The caller's headers as they cross the signed hop: their token and chain under
        the names the function restores; nothing of theirs in the signature's headers."""
        out: Headers = []
        for raw_name, value in headers:
            name = raw_name.lower()
            if name == b"authorization":
                out.append((FORWARDED_AUTHORIZATION.encode(), value))
            elif name == b"x-forwarded-for":
                out.append((FORWARDED_FOR.encode(), value))
            elif name == b"x-forwarded-proto":
                out.append((FORWARDED_PROTO.encode(), value))
            elif not name.startswith(b"x-amz-") and name not in _LENGTH:
                out.append((name, value))
        return out

    def sign(self, method: str, url: str, body: bytes) -> dict[str, str]:
        """The headers that make the request to ``url`` signed (host is taken from it)."""
        # Frozen per request: a refresh, if due, happens here, about once an hour.
        frozen = self._credentials.get_frozen_credentials()
        request = AWSRequest(method=method, url=url, data=body)
        SigV4Auth(frozen, SERVICE, self.region).add_auth(request)
        return {k: v for k, v in request.headers.items() if k.lower() != "host"}
