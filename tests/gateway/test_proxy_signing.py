"""Proxy mode against an IAM-authorised HTTP API: the gateway signs every forwarded request
with SigV4 as its credentials (the instance role), and what the function then sees is the
caller's request: their token, their address. The upstream here plays API Gateway: it
checks the signature with an independent SigV4 verifier (videoforge/stack/sigv4.py), then
hands the event's headers through common/lambda_entry.py as the Lambda entry points do."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.client_ip import client_ip
from common.lambda_entry import FORWARDED_AUTHORIZATION, FORWARDED_FOR, restore
from gateway.app import create_app
from gateway.upstream_signing import MAX_BODY_BYTES, Signer
from tests.support.servers import serve_in_thread
from videoforge.stack.sigv4 import Credentials, SignatureError, Verifier, from_asgi

KEY, SECRET, TOKEN = "AKIDGATEWAYROLE", "gateway-role-secret", "session-token-of-the-role"
API_GATEWAY_PEER = "192.0.2.44"  # the address API Gateway would see: the gateway's


async def api_gateway(request: Request) -> Response:
    body = await request.body()
    try:
        Verifier(Credentials(KEY, SECRET), service="execute-api").verify(
            from_asgi(request.scope), payload_hash=hashlib.sha256(body).hexdigest())
    except SignatureError as exc:
        return JSONResponse({"message": exc.message}, status_code=403)
    headers = dict(request.headers)
    event = {"headers": headers, "requestContext": {
        "authorizer": {"iam": {"accessKey": KEY}}, "http": {"sourceIp": API_GATEWAY_PEER}}}
    return JSONResponse({"received": headers, "app_sees": restore(event)["headers"],
                         "query": request.url.query, "body": body.decode()})


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    app = Starlette(routes=[Route("/{path:path}", api_gateway, methods=["GET", "POST"])])
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def signed(gateway_settings: Any, upstream: str,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    for name, value in (("AWS_ACCESS_KEY_ID", KEY), ("AWS_SECRET_ACCESS_KEY", SECRET),
                        ("AWS_SESSION_TOKEN", TOKEN)):
        monkeypatch.setenv(name, value)
    settings = gateway_settings.model_copy(update={
        "gateway_mode": "proxy", "gallery_url": upstream, "streaming_url": upstream,
        "proxy_signing": "sigv4"})
    with TestClient(create_app(settings)) as client:
        yield client


def test_forwarded_requests_are_signed_and_reach_the_app_as_the_callers(
        signed: TestClient, users: Any) -> None:
    token = users["owner"].headers["Authorization"]
    # A form-encoded query (+ for a space, a bare comma) still matches its signature.
    r = signed.get("/api/gallery/videos?q=big+cats&tags=a,b&limit=2",
                   headers={"Authorization": token, "X-Forwarded-For": "203.0.113.9",
                            "X-Forwarded-Proto": "https"})
    assert r.status_code == 200, r.text
    received, app_sees = r.json()["received"], r.json()["app_sees"]
    assert received["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY}/")
    assert "/execute-api/aws4_request" in received["authorization"]
    assert received["x-amz-security-token"] == TOKEN
    assert received[FORWARDED_AUTHORIZATION] == token and "x-forwarded-for" not in received
    # What gallery reads: the caller's token, and the chain with every hop's peer added.
    assert app_sees["authorization"] == token
    assert r.json()["query"] == "q=big%20cats&tags=a%2Cb&limit=2"
    assert app_sees["x-forwarded-for"] == f"203.0.113.9, testclient, {API_GATEWAY_PEER}"
    assert app_sees["x-forwarded-proto"] == "https, http, https"
    assert FORWARDED_FOR not in app_sees and FORWARDED_AUTHORIZATION not in app_sees


def test_bodies_are_signed_and_oversized_ones_refused(signed: TestClient) -> None:
    r = signed.post("/api/upload/url", json={"filename": "a.mp4", "size": 3},
                    headers={"X-Amz-Date": "20000101T000000Z"})  # a caller's is dropped
    assert r.status_code == 200, r.text
    assert r.json()["body"] == '{"filename":"a.mp4","size":3}'
    big = signed.post("/api/upload/url", content=b"x" * (MAX_BODY_BYTES + 1))
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"


def test_a_tampered_request_fails_the_signature(upstream: str) -> None:
    """The verifier is not a rubber stamp: a body other than the one signed is refused."""
    import httpx

    signer = Signer("us-east-1", credentials=_static())
    url = f"{upstream}/api/gallery/videos"
    headers = signer.sign("POST", url, b'{"a":1}')
    assert httpx.post(url, content=b'{"a":1}', headers=headers).status_code == 200
    assert httpx.post(url, content=b'{"a":2}', headers=headers).status_code == 403


def test_the_lambda_believes_forwarded_headers_only_from_a_signed_event() -> None:
    headers = {"authorization": "Bearer planted", FORWARDED_FOR: "198.51.100.1",
               FORWARDED_AUTHORIZATION: "Bearer also-planted", "x-forwarded-for": "192.0.2.9"}
    unsigned = restore({"headers": dict(headers), "requestContext": {
        "http": {"sourceIp": "192.0.2.9"}}})["headers"]
    assert unsigned == {"authorization": "Bearer planted", "x-forwarded-for": "192.0.2.9"}
    request_scope = {"type": "http", "client": ("192.0.2.9", 0), "headers": [
        (b"x-forwarded-for", b"203.0.113.9, 10.0.0.5, 192.0.2.9")]}
    assert client_ip(Request(request_scope), 3) == "203.0.113.9"


def _static() -> Any:
    from botocore.credentials import Credentials as BotoCredentials

    return BotoCredentials(KEY, SECRET, TOKEN)
