"""Proxy mode: the gateway forwards /api/gallery, /api/upload and /api/stream over HTTP
and hands back status, headers and body unchanged. The upstream here is a small echo
service on a real loopback port (the gallery and streaming apps are tested in mount mode).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.app import create_app
from tests.support.servers import serve_in_thread
from videoforge.stack.net import free_port


async def echo(request: Request) -> Response:
    if request.url.path.endswith("/chunks"):
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(3):
                yield f"chunk-{i};".encode()
        return StreamingResponse(chunks(), media_type="text/plain")
    response = JSONResponse(
        {"method": request.method, "path": request.url.path, "query": request.url.query,
         "headers": dict(request.headers), "body": (await request.body()).decode()},
        status_code=int(request.query_params.get("status", 200)),
        headers={"X-Upstream": "echo"},
    )
    response.raw_headers += [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]
    return response


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    app = Starlette(routes=[Route("/{path:path}", echo,
                                  methods=["GET", "POST", "PUT", "DELETE", "PATCH"])])
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def proxied(gateway_settings, upstream) -> Iterator[TestClient]:
    settings = gateway_settings.model_copy(update={
        "gateway_mode": "proxy", "gallery_url": upstream, "streaming_url": upstream})
    with TestClient(create_app(settings)) as client:
        yield client


def test_requests_pass_through_whole(proxied, users) -> None:
    r = proxied.get("/api/gallery/videos?q=cats&limit=2", headers={
        **users["owner"].headers, "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https"})
    assert r.status_code == 200
    seen = r.json()
    assert seen["path"] == "/api/gallery/videos" and seen["query"] == "q=cats&limit=2"
    assert seen["headers"]["authorization"] == users["owner"].headers["Authorization"]
    assert seen["headers"]["x-forwarded-for"] == "203.0.113.9, testclient"
    # One entry per hop in both chains: the service reads its scheme from the client's hop.
    assert seen["headers"]["x-forwarded-proto"] == "https, http"
    assert seen["headers"]["host"].startswith("127.0.0.1:")
    assert r.headers["x-upstream"] == "echo" and r.headers["x-request-id"]
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]


def test_bodies_and_statuses_unchanged(proxied) -> None:
    r = proxied.post("/api/upload/url?status=201", json={"filename": "a.mp4", "size": 3})
    assert r.status_code == 201
    assert r.json()["body"] == '{"filename":"a.mp4","size":3}'
    missing = proxied.get("/api/stream/nope?status=404")
    assert missing.status_code == 404 and missing.json()["path"] == "/api/stream/nope"
    assert proxied.get("/api/stream/v/chunks").text == "chunk-0;chunk-1;chunk-2;"
    # Only whole path segments match: this is the gateway's own 404.
    assert proxied.get("/api/galleryx").json()["error"]["code"] == "not_found"


def test_unreachable_upstream_is_502(gateway_settings) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = gateway_settings.model_copy(update={
        "gateway_mode": "proxy", "gallery_url": dead, "streaming_url": dead})
    with TestClient(create_app(settings)) as client:
        r = client.get("/api/gallery/videos")
        assert r.status_code == 502 and r.json()["error"]["code"] == "bad_gateway"


def test_proxy_mode_needs_urls(gateway_settings) -> None:
    with pytest.raises(RuntimeError, match="VF_GALLERY_URL"):
        create_app(gateway_settings.model_copy(update={"gateway_mode": "proxy"}))


def test_uploads_are_rate_limited_at_the_gateway(gateway_settings, upstream) -> None:
    settings = gateway_settings.model_copy(update={
        "gateway_mode": "proxy", "gallery_url": upstream, "streaming_url": upstream,
        "rate_limit_upload": "2/60"})
    with TestClient(create_app(settings)) as client:
        codes = [client.post("/api/upload/url", json={}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert client.get("/api/gallery/videos").status_code == 200


def test_route_classes_follow_the_normalised_path(gateway_settings, upstream) -> None:
    """``/api/gallery/../upload/url`` is the upload route wherever it is resolved, so it
    spends the upload budget, and the upstream is sent the path that was limited. Sent
    over a raw socket: HTTP client libraries resolve dot segments themselves."""
    import http.client
    import json as jsonlib

    settings = gateway_settings.model_copy(update={
        "gateway_mode": "proxy", "gallery_url": upstream, "streaming_url": upstream,
        "rate_limit_upload": "1/60", "rate_limit_write": "100000/1",
        "rate_limit_preflight": "1/60"})
    with serve_in_thread(create_app(settings)) as base:
        connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)

        def post(path: str) -> tuple[int, dict]:
            connection.request("POST", path, body=b"{}",
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            return response.status, jsonlib.loads(response.read() or b"{}")

        status, seen = post("/api/gallery/../upload//url")
        assert status == 200 and seen["path"] == "/api/upload/url"
        assert post("/api/gallery/./../upload/url")[0] == 429
        assert post("/api/upload/url")[0] == 429
        # OPTIONS (CORS preflights) is limited too, in a class of its own, by the same
        # normalised path.
        connection.request("OPTIONS", "/api/upload/url")
        first = connection.getresponse()
        first.read()
        assert first.status != 429
        connection.request("OPTIONS", "/api/gallery/../upload/url")
        assert connection.getresponse().status == 429
