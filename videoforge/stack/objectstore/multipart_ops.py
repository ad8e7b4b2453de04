"""Multipart uploads: create, upload part (or copy a range into one), list parts,
complete, abort, with S3's rules on part numbers, order, ETags and sizes."""

from __future__ import annotations

from starlette.responses import Response

from videoforge.stack.objectstore import s3xml
from videoforge.stack.objectstore.body import receive
from videoforge.stack.objectstore.call import Call, empty, xml_response
from videoforge.stack.objectstore.object_ops import byte_range, copy_source, stored_headers
from videoforge.stack.objectstore.store import StoreError

# S3 multipart limits (S3 User Guide, "Amazon S3 multipart upload limits"): part numbers
# 1..10,000; every part but the last at least 5 MiB; ListParts pages of up to 1,000.
MAX_PART_NUMBER = 10_000
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS_PAGE = 1000


def _part_number(call: Call) -> int:
    text = call.query.get("partNumber", "")
    if not text.isdigit() or not 1 <= int(text) <= MAX_PART_NUMBER:
        raise StoreError(400, "InvalidArgument",
                         f"Part number must be an integer between 1 and {MAX_PART_NUMBER}")
    return int(text)


async def create(call: Call) -> Response:
    upload_id = call.store.create_upload(call.bucket, call.key, stored_headers(call.headers))
    return xml_response(s3xml.simple("InitiateMultipartUploadResult", Bucket=call.bucket,
                                     Key=call.key, UploadId=upload_id))


async def upload_part(call: Call) -> Response:
    number = _part_number(call)
    upload_id = call.query["uploadId"]
    call.store.upload(call.bucket, call.key, upload_id)
    if "x-amz-copy-source" in call.headers:
        source = copy_source(call)
        span = byte_range(call.headers.get("x-amz-copy-source-range"), source.size)
        first, last = span or (0, source.size - 1)
        part = call.store.put_part(call.bucket, call.key, upload_id, number,
                                   call.store.copy_into_stage(source, first, last))
        return xml_response(s3xml.simple("CopyPartResult", ETag=part.etag,
                                         LastModified=s3xml.iso8601(part.modified)))
    staged = await receive(call.store, call.chunks(), call.headers,
                           signed_payload=call.signed_payload)
    part = call.store.put_part(call.bucket, call.key, upload_id, number, staged)
    return empty(200, {"ETag": part.etag})


def list_parts(call: Call) -> Response:
    upload_id = call.query["uploadId"]
    parts = call.store.parts(call.bucket, call.key, upload_id)
    try:
        marker = int(call.query.get("part-number-marker", "0") or 0)
        max_parts = min(int(call.query.get("max-parts", MAX_PARTS_PAGE)), MAX_PARTS_PAGE)
    except ValueError:
        raise StoreError(400, "InvalidArgument", "part markers must be numbers") from None
    return xml_response(s3xml.list_parts(call.bucket, call.key, upload_id, parts,
                                         marker=marker, max_parts=max_parts))


async def complete(call: Call) -> Response:
    upload_id = call.query["uploadId"]
    uploaded = {p.number: p for p in call.store.parts(call.bucket, call.key, upload_id)}
    wanted = s3xml.completed_parts(await call.body())
    if not wanted:
        raise StoreError(400, "MalformedXML", "The XML you provided was not well-formed")
    numbers = [number for number, _ in wanted]
    if numbers != sorted(set(numbers)):
        raise StoreError(400, "InvalidPartOrder",
                         "The list of parts was not in ascending order.")
    chosen = []
    for number, etag in wanted:
        part = uploaded.get(number)
        if part is None or part.etag.strip('"') != etag.strip('"'):
            raise StoreError(400, "InvalidPart", "One or more of the specified parts could "
                                                 "not be found or its ETag did not match.")
        chosen.append(part)
    if any(part.size < MIN_PART_BYTES for part in chosen[:-1]):
        raise StoreError(400, "EntityTooSmall",
                         "Your proposed upload is smaller than the minimum allowed size")
    info = call.store.complete_upload(call.bucket, call.key, upload_id, chosen)
    return xml_response(s3xml.simple(
        "CompleteMultipartUploadResult", Location=f"/{call.bucket}/{call.key}",
        Bucket=call.bucket, Key=call.key, ETag=info.etag))


def abort(call: Call) -> Response:
    call.store.abort_upload(call.bucket, call.key, call.query["uploadId"])
    return empty(204)
