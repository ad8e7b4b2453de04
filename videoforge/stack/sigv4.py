"""AWS Signature Version 4 checks for the local AWS-compatible servers (object store,
identity provider): the same canonical request boto3 and a presigned URL sign, verified
with the one key pair the local stack hands its processes.

Follows the SigV4 specification (AWS General Reference, "Create a signed AWS API
request"): header auth (``Authorization: AWS4-HMAC-SHA256 …``) and query auth (presigned
URLs, ``X-Amz-Signature``). Signed headers are checked as sent, so a presigned upload
part URL that signs its ``content-length`` refuses a body of another length.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from calendar import timegm
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# S3 refuses header-signed requests more than 15 minutes off its clock (S3 API
# reference, "RequestTimeTooSkewed").
MAX_SKEW_S = 15 * 60
# A presigned URL lives at most 7 days (S3 docs, "Sharing objects with presigned URLs").
MAX_EXPIRES_S = 7 * 24 * 3600
_AUTH_HEADER = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})")


class SignatureError(Exception):
    """Why a request's signature does not hold; ``code`` is the AWS error code."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SignedRequest:
    """What the verifier needs from an HTTP request, raw as it came over the wire."""

    method: str
    raw_path: str                          # as sent, percent-encoding intact
    raw_query: str                         # as sent, without the '?'
    headers: Sequence[tuple[str, str]]     # lower-case names, every occurrence


def _aws_quote(value: str) -> str:
    return quote(value, safe="-_.~")


def _query_pairs(raw_query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, raw_query.split("&")):
        key, _, value = part.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    encoded = sorted((_aws_quote(k), _aws_quote(v)) for k, v in pairs
                     if k != "X-Amz-Signature")
    return "&".join(f"{k}={v}" for k, v in encoded)


def _canonical_headers(headers: Sequence[tuple[str, str]], signed: Sequence[str]) -> str:
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(" ".join(value.split()))
    missing = [name for name in signed if name not in values]
    if missing:
        raise SignatureError("AccessDenied", f"signed header {missing[0]!r} is missing")
    return "".join(f"{name}:{','.join(values[name])}\n" for name in signed)


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _amz_time(stamp: str) -> float:
    try:
        return float(timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        raise SignatureError("AccessDenied", f"bad X-Amz-Date {stamp!r}") from None


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str


class Verifier:
    """Checks SigV4 signatures for one service against one key pair."""

    def __init__(self, credentials: Credentials, *, service: str) -> None:
        self.credentials = credentials
        self.service = service

    def verify(self, request: SignedRequest, *, payload_hash: str | None = None,
               now: float | None = None) -> str:
        """Raise :class:`SignatureError` unless the request is signed with our key; return
        the payload hash the signature covers (``UNSIGNED-PAYLOAD`` for presigned URLs).

        ``payload_hash``: the body's SHA-256 where the protocol does not send it in
        ``x-amz-content-sha256`` (JSON APIs)."""
        now = time.time() if now is None else now
        pairs = _query_pairs(request.raw_query)
        query = dict(pairs)
        headers = {name.lower(): value for name, value in request.headers}
        if "X-Amz-Signature" in query:
            credential, signed, signature = (query.get("X-Amz-Credential", ""),
                                             query.get("X-Amz-SignedHeaders", ""),
                                             query["X-Amz-Signature"])
            if query.get("X-Amz-Algorithm") != ALGORITHM:
                raise SignatureError("AuthorizationQueryParametersError",
                                     "X-Amz-Algorithm must be AWS4-HMAC-SHA256", 400)
            stamp = query.get("X-Amz-Date", "")
            try:
                expires = int(query.get("X-Amz-Expires", ""))
            except ValueError:
                raise SignatureError("AuthorizationQueryParametersError",
                                     "X-Amz-Expires must be a number", 400) from None
            if not 0 < expires <= MAX_EXPIRES_S:
                raise SignatureError("AuthorizationQueryParametersError",
                                     f"X-Amz-Expires must be 1..{MAX_EXPIRES_S}", 400)
            if now > _amz_time(stamp) + expires:
                raise SignatureError("AccessDenied", "Request has expired")
            payload = query.get("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD)
        else:
            match = _AUTH_HEADER.fullmatch(headers.get("authorization", "").strip())
            if not match:
                raise SignatureError("AccessDenied", "the request is not signed (SigV4)")
            credential, signed, signature = match["credential"], match["signed"], \
                match["signature"]
            stamp = headers.get("x-amz-date", "")
            if abs(now - _amz_time(stamp)) > MAX_SKEW_S:
                raise SignatureError("RequestTimeTooSkewed",
                                     "the request time is too far from the server's")
            payload = headers.get("x-amz-content-sha256") or payload_hash or ""
            if not payload:
                raise SignatureError("InvalidRequest", "missing x-amz-content-sha256", 400)
        return self._check(request, pairs, credential, signed, signature, stamp, payload)

    def _check(self, request: SignedRequest, pairs: list[tuple[str, str]], credential: str,
               signed: str, signature: str, stamp: str, payload: str) -> str:
        try:
            access_key, date, region, service, terminator = credential.split("/")
        except ValueError:
            raise SignatureError("AuthorizationHeaderMalformed",
                                 f"bad credential {credential!r}", 400) from None
        if access_key != self.credentials.access_key:
            raise SignatureError("InvalidAccessKeyId", "the access key is not known here")
        if service != self.service or terminator != "aws4_request" or date != stamp[:8]:
            raise SignatureError("AuthorizationHeaderMalformed",
                                 f"bad credential scope {credential!r}", 400)
        signed_names = signed.split(";")
        if "host" not in signed_names:
            raise SignatureError("AccessDenied", "the host header must be signed")
        canonical = "\n".join([
            request.method, request.raw_path or "/", canonical_query(pairs),
            _canonical_headers(request.headers, signed_names), signed, payload])
        scope = f"{date}/{region}/{service}/aws4_request"
        to_sign = "\n".join([ALGORITHM, stamp, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = signing_key(self.credentials.secret_key, date, region, service)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise SignatureError("SignatureDoesNotMatch",
                                 "the request signature we calculated does not match")
        return payload


def headers_of(scope_headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """ASGI header pairs as text (latin-1, as HTTP/1.1 carries them)."""
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope_headers]


def from_asgi(scope: Mapping[str, object]) -> SignedRequest:
    raw_path = scope.get("raw_path") or str(scope.get("path", "/")).encode()
    assert isinstance(raw_path, bytes)
    query = scope.get("query_string") or b""
    assert isinstance(query, bytes)
    headers = scope.get("headers") or []
    return SignedRequest(method=str(scope["method"]),
                         raw_path=raw_path.decode("latin-1").split("?", 1)[0],
                         raw_query=query.decode("latin-1"),
                         headers=headers_of(headers))  # type: ignore[arg-type]
