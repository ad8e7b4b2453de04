"""Bucket requests: create/head/delete, listing (v1 and v2, prefixes, delimiters,
continuation), delete-objects, and the configuration sub-resources provisioning sets.

Configuration documents (CORS, encryption, public access block, lifecycle, tagging) are
kept as the client sent them and returned verbatim, so what ``provision`` reads back is
what it wrote. Only CORS is acted on locally; the others are recorded, not enforced.
"""

from __future__ import annotations

import base64
import binascii

from starlette.responses import Response

from videoforge.stack.objectstore import s3xml
from videoforge.stack.objectstore.call import Call, empty, xml_response
from videoforge.stack.objectstore.store import ObjectInfo, StoreError

# sub-resource -> the error S3 answers when the bucket has none.
CONFIGS = {
    "cors": ("NoSuchCORSConfiguration", "The CORS configuration does not exist"),
    "encryption": ("ServerSideEncryptionConfigurationNotFoundError",
                   "The server side encryption configuration was not found"),
    "publicAccessBlock": ("NoSuchPublicAccessBlockConfiguration",
                          "The public access block configuration was not found"),
    "lifecycle": ("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
    "tagging": ("NoSuchTagSet", "The TagSet does not exist"),
    "policy": ("NoSuchBucketPolicy", "The bucket policy does not exist"),
}
# ListObjects returns at most 1000 keys a page (S3 API reference, "ListObjectsV2").
MAX_KEYS = 1000
# Above any UTF-8 key that starts with a given prefix: skips a whole common prefix.
_AFTER_ALL = "\U0010ffff"


def _config_kind(call: Call) -> str | None:
    kinds = [name for name in CONFIGS if call.has(name)]
    return kinds[0] if kinds else None


async def handle(call: Call) -> Response:
    method = call.request.method
    kind = _config_kind(call)
    if method == "HEAD":
        call.store.require_bucket(call.bucket)
        return empty(200, {"x-amz-bucket-region": "us-east-1"})
    if kind:
        return await _config(call, kind)
    if method == "PUT" and not call.query:
        call.store.create_bucket(call.bucket)
        return empty(200, {"Location": f"/{call.bucket}"})
    if method == "DELETE" and not call.query:
        call.store.delete_bucket(call.bucket)
        return empty(204)
    if method == "POST" and call.has("delete"):
        keys, quiet = s3xml.delete_keys(await call.body())
        for key in keys:
            call.store.delete(call.bucket, key)
        return xml_response(s3xml.delete_result(keys, quiet))
    if method == "GET":
        call.store.require_bucket(call.bucket)
        if call.has("location"):
            return xml_response(s3xml.simple("LocationConstraint"))
        if call.has("versioning"):
            return xml_response(s3xml.simple("VersioningConfiguration"))
        if call.has("uploads"):
            return _list_uploads(call)
        if not any(call.has(q) for q in ("versions", "acl", "website", "notification",
                                          "replication")):
            return _list(call)
    raise StoreError(501, "NotImplemented",
                     "A parameter you provided implies functionality that is not implemented")


async def _config(call: Call, kind: str) -> Response:
    method = call.request.method
    if method == "GET":
        body = call.store.config(call.bucket, kind)
        if body is None:
            code, message = CONFIGS[kind]
            raise StoreError(404, code, message)
        return xml_response(body)
    if method == "PUT":
        body = await call.body()
        if kind == "cors":
            s3xml.cors_rules(body)  # refuse a malformed document now, not at use
        call.store.set_config(call.bucket, kind, body)
        return empty(200)
    if method == "DELETE":
        call.store.set_config(call.bucket, kind, None)
        return empty(204)
    raise StoreError(405, "MethodNotAllowed",
                     "The specified method is not allowed against this resource.")


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise StoreError(400, "InvalidArgument",
                         "The continuation token provided is incorrect") from None


def _list(call: Call) -> Response:
    q = call.query
    v2 = q.get("list-type") == "2"
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    try:
        max_keys = min(int(q.get("max-keys", MAX_KEYS)), MAX_KEYS)
    except ValueError:
        raise StoreError(400, "InvalidArgument", "max-keys must be a number") from None
    token = q.get("continuation-token")
    if v2:
        after = _decode_token(token) if token else q.get("start-after", "")
    else:
        after = q.get("marker", "")
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    truncated, last = False, None
    while not truncated:
        batch = call.store.list_objects(call.bucket, prefix=prefix, after=after, limit=MAX_KEYS)
        if not batch:
            break
        for info in batch:
            if len(objects) + len(prefixes) >= max_keys:
                truncated = True
                break
            rest = info.key[len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest.split(delimiter, 1)[0] + delimiter
                prefixes.append(common)
                last = after = common + _AFTER_ALL
                break  # continue the scan past this whole prefix
            objects.append(info)
            last = after = info.key
        else:
            if len(batch) < MAX_KEYS:
                break
    next_marker = None
    if truncated and last is not None:
        next_marker = (base64.urlsafe_b64encode(last.encode()).decode() if v2 else last)
    listing = s3xml.Listing(call.bucket, prefix, delimiter, max_keys, objects, prefixes,
                            truncated, next_marker)
    return xml_response(s3xml.list_objects(listing, v2=v2, token=token,
                                           start_after=q.get("start-after"),
                                           marker=q.get("marker")))


def _list_uploads(call: Call) -> Response:
    q = call.query
    try:
        max_uploads = min(int(q.get("max-uploads", MAX_KEYS)), MAX_KEYS)
    except ValueError:
        raise StoreError(400, "InvalidArgument", "max-uploads must be a number") from None
    markers = (q.get("key-marker", ""), q.get("upload-id-marker", ""))
    prefix = q.get("prefix", "")
    found = call.store.uploads(call.bucket, prefix=prefix, after=markers,
                               limit=max_uploads + 1)
    return xml_response(s3xml.list_uploads(call.bucket, prefix, found[:max_uploads],
                                           markers=markers, max_uploads=max_uploads,
                                           truncated=len(found) > max_uploads))
