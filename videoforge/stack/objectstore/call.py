"""One S3 request as the handlers see it, and the response shapes they return."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from videoforge.stack.objectstore.store import Store, StoreError

XML = "application/xml"


@dataclass
class Call:
    request: Request
    store: Store
    bucket: str
    key: str
    query: dict[str, str]
    headers: dict[str, str]          # lower-case names
    signed_payload: str

    def has(self, name: str) -> bool:
        return name in self.query

    async def body(self, limit: int = 1024 * 1024) -> bytes:
        """A small request document (XML); S3 caps these well below 1 MiB."""
        data = b""
        async for chunk in self.request.stream():
            data += chunk
            if len(data) > limit:
                raise StoreError(400, "MaxMessageLengthExceeded", "Your request was too big.")
        return data

    def chunks(self) -> AsyncIterator[bytes]:
        return self.request.stream()


def xml_response(body: bytes, status: int = 200, **headers: Any) -> Response:
    return Response(body, status_code=status, media_type=XML,
                    headers={k.replace("_", "-"): str(v) for k, v in headers.items()})


def empty(status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(b"", status_code=status, headers=headers)
    if status in (204, 304):
        # No body, so no length either (RFC 9110 §8.6).
        response.headers.__delitem__("content-length")
    return response
