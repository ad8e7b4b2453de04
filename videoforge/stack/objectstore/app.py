"""The local object store's ASGI app: S3's REST API, path-style, for what VideoForge uses.

Every request but a CORS preflight must carry a valid SigV4 signature (header or
presigned query) made with the local stack's key pair. Errors are S3's XML errors, with
S3's codes and statuses, so boto3 and the browser see what they would see on AWS.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from videoforge.stack.objectstore import bucket_ops, cors, multipart_ops, object_ops, s3xml
from videoforge.stack.objectstore.call import Call, empty
from videoforge.stack.objectstore.store import Store, StoreError
from videoforge.stack.sigv4 import SignatureError, Verifier, from_asgi


def _split(path: str) -> tuple[str, str]:
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key


async def _object(call: Call) -> Response:
    method = call.request.method
    if method in ("GET", "HEAD"):
        if "uploadId" in call.query and method == "GET":
            return multipart_ops.list_parts(call)
        if any(q in call.query for q in ("acl", "tagging", "torrent", "retention")):
            raise StoreError(501, "NotImplemented", "not implemented by the local store")
        return object_ops.get(call, head=method == "HEAD")
    if method == "PUT":
        if "uploadId" in call.query:
            return await multipart_ops.upload_part(call)
        return await object_ops.put(call)
    if method == "POST":
        if "uploads" in call.query:
            return await multipart_ops.create(call)
        if "uploadId" in call.query:
            return await multipart_ops.complete(call)
    if method == "DELETE":
        if "uploadId" in call.query:
            return multipart_ops.abort(call)
        return object_ops.delete(call)
    raise StoreError(405, "MethodNotAllowed",
                     "The specified method is not allowed against this resource.")


class ObjectStoreApp:
    def __init__(self, store: Store, verifier: Verifier) -> None:
        self.store = store
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        request_id = uuid.uuid4().hex[:16].upper()
        bucket, key = _split(scope["path"])
        try:
            if request.method == "OPTIONS":
                response = self._preflight(request, bucket)
            else:
                response = await self._handle(request, bucket, key)
        except (StoreError, SignatureError) as exc:
            body = b"" if request.method == "HEAD" else s3xml.error(
                exc.code, exc.message, scope["path"], request_id)
            response = Response(body, status_code=exc.status, media_type="application/xml")
        if request.method != "OPTIONS":
            self._cors(request, bucket, response)
        response.headers["x-amz-request-id"] = request_id
        await response(scope, receive, send)

    async def _handle(self, request: Request, bucket: str, key: str) -> Response:
        signed_payload = self.verifier.verify(from_asgi(request.scope))
        query = dict(parse_qsl(request.scope["query_string"].decode("latin-1"),
                               keep_blank_values=True))
        headers = {k.lower(): v for k, v in request.headers.items()}
        call = Call(request, self.store, bucket, key, query, headers, signed_payload)
        if not bucket:
            if request.method != "GET":
                raise StoreError(405, "MethodNotAllowed", "only GET lists the buckets")
            return Response(s3xml.list_buckets(self.store.buckets()),
                            media_type="application/xml")
        if not key:
            return await bucket_ops.handle(call)
        return await _object(call)

    def _rules(self, bucket: str) -> list[s3xml.CorsRule]:
        try:
            body = self.store.config(bucket, "cors") if bucket else None
        except StoreError:
            return []
        return s3xml.cors_rules(body) if body else []

    def _preflight(self, request: Request, bucket: str) -> Response:
        origin = request.headers.get("origin")
        method = request.headers.get("access-control-request-method")
        if not origin or not method:
            raise StoreError(400, "BadRequest", "Insufficient information. Origin request "
                                                "header needed.")
        wanted = [h.strip().lower() for h in
                  request.headers.get("access-control-request-headers", "").split(",")
                  if h.strip()]
        rule = cors.matching_rule(self._rules(bucket), origin=origin, method=method,
                                  request_headers=wanted)
        if rule is None:
            raise StoreError(403, "AccessForbidden", "CORSResponse: This CORS request is "
                                                     "not allowed.")
        return empty(200, cors.response_headers(rule, origin=origin, preflight=True,
                                                request_headers=wanted))

    def _cors(self, request: Request, bucket: str, response: Response) -> None:
        origin = request.headers.get("origin")
        if not origin:
            return
        rule = cors.matching_rule(self._rules(bucket), origin=origin, method=request.method)
        if rule:
            response.headers.update(cors.response_headers(rule, origin=origin,
                                                          preflight=False))
