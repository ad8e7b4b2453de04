"""Object requests: put (and server-side copy), get with ranges and conditions, head,
delete."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

from starlette.responses import Response, StreamingResponse

from videoforge.stack.objectstore import s3xml
from videoforge.stack.objectstore.body import receive
from videoforge.stack.objectstore.call import Call, empty, xml_response
from videoforge.stack.objectstore.store import ObjectInfo, StoreError

# Headers an object keeps from its PUT and sends back on GET/HEAD.
KEPT_HEADERS = ("content-type", "content-disposition", "content-encoding",
                "content-language", "cache-control", "expires")
# GET query parameters that override a response header (S3 API reference, "GetObject").
_OVERRIDES = {f"response-{name}": name for name in KEPT_HEADERS}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_READ_CHUNK = 256 * 1024
DEFAULT_CONTENT_TYPE = "binary/octet-stream"


def stored_headers(headers: dict[str, str]) -> dict[str, str]:
    kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    kept.setdefault("content-type", DEFAULT_CONTENT_TYPE)
    kept.update({k: v for k, v in headers.items() if k.startswith("x-amz-meta-")})
    return kept


def byte_range(spec: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` for a ``Range: bytes=…`` header; None for the whole object.
    S3 ignores a range it cannot parse, and answers 416 for one beyond the object."""
    match = _RANGE.fullmatch(spec.strip()) if spec else None
    if not match or match.groups() == ("", ""):
        return None
    first_text, last_text = match.groups()
    if not first_text:
        first, last = max(size - int(last_text), 0), size - 1
    else:
        first = int(first_text)
        last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or first > last:
        raise StoreError(416, "InvalidRange", "The requested range is not satisfiable")
    return first, last


async def _file_bytes(path: Path, first: int, last: int) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        f.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            chunk = f.read(min(_READ_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def _check_conditions(info: ObjectInfo, headers: dict[str, str], *, prefix: str = ""
                      ) -> bool:
    """False for "not modified"; raises for a failed precondition."""
    if_match = headers.get(f"{prefix}if-match")
    if if_match and if_match.strip() not in (info.etag, "*", info.etag.strip('"')):
        raise StoreError(412, "PreconditionFailed",
                         "At least one of the pre-conditions you specified did not hold")
    if_none = headers.get(f"{prefix}if-none-match")
    return not (if_none and if_none.strip() in (info.etag, "*", info.etag.strip('"')))


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    return {**info.headers, "ETag": info.etag, "Last-Modified": s3xml.http_date(info.modified),
            "Accept-Ranges": "bytes"}


def get(call: Call, *, head: bool) -> Response:
    info = call.store.head(call.bucket, call.key)
    headers = _object_headers(info)
    if not _check_conditions(info, call.headers):
        return empty(304, {"ETag": info.etag})
    for parameter, name in _OVERRIDES.items():
        if parameter in call.query:
            headers[name] = call.query[parameter]
    span = byte_range(call.headers.get("range"), info.size)
    first, last = span or (0, info.size - 1)
    status = 206 if span else 200
    if span:
        headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
    headers["Content-Length"] = str(max(last - first + 1, 0))
    media_type = headers.pop("content-type")
    if head or info.size == 0:
        response = Response(b"", status_code=status, headers=headers, media_type=media_type)
        response.headers["content-length"] = headers["Content-Length"]
        return response
    assert info.path is not None
    return StreamingResponse(_file_bytes(info.path, first, last), status_code=status,
                             headers=headers, media_type=media_type)


def copy_source(call: Call) -> ObjectInfo:
    raw = unquote(call.headers["x-amz-copy-source"]).lstrip("/")
    source, _, version = raw.partition("?")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise StoreError(400, "InvalidArgument", "Copy Source must mention the source "
                                                  "bucket and key: sourcebucket/sourcekey")
    if version and version not in ("versionId=null",):
        raise StoreError(400, "InvalidArgument", "this store keeps no object versions")
    info = call.store.head(bucket, key)
    _check_conditions(info, call.headers, prefix="x-amz-copy-source-")
    return info


async def put(call: Call) -> Response:
    call.store.require_bucket(call.bucket)
    if "x-amz-copy-source" in call.headers:
        source = copy_source(call)
        replace = call.headers.get("x-amz-metadata-directive", "COPY").upper() == "REPLACE"
        headers = stored_headers(call.headers) if replace else source.headers
        info = call.store.put(call.bucket, call.key, call.store.copy_into_stage(source),
                              headers)
        return xml_response(s3xml.simple("CopyObjectResult", ETag=info.etag,
                                         LastModified=s3xml.iso8601(info.modified)))
    staged = await receive(call.store, call.chunks(), call.headers,
                           signed_payload=call.signed_payload)
    info = call.store.put(call.bucket, call.key, staged, stored_headers(call.headers))
    return empty(200, {"ETag": info.etag})


def delete(call: Call) -> Response:
    call.store.delete(call.bucket, call.key)
    return empty(204)
