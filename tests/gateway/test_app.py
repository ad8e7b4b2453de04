"""The app around the routes: error shape, request ids, metrics, OpenAPI, ``serve``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from videoforge.stack.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_unexpected_errors_are_500_json_without_internals(gateway_settings) -> None:
    app = create_app(gateway_settings)

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/boom", headers={"X-Request-ID": "req-123"})
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal", "message": "internal error",
                                  "request_id": "req-123"}}
    assert r.headers["x-request-id"] == "req-123"  # quotable to ops, even on a 500
    assert "hunter2" not in r.text


def test_request_ids_metrics_and_openapi(gateway_settings) -> None:
    metrics_port = free_port()
    with TestClient(create_app(gateway_settings.model_copy(
            update={"gateway_metrics_port": metrics_port}))) as client:
        _request_ids_metrics_and_openapi(client, metrics_port)
    with pytest.raises(httpx.TransportError):  # the listener stops with the app
        httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")


def _request_ids_metrics_and_openapi(client, metrics_port: int) -> None:
    r = client.get("/api/jobs/whatever", headers={"X-Request-ID": "bad id with spaces"})
    assert r.status_code == 401 and len(r.headers["x-request-id"]) == 32
    unknown = client.get("/api/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    wrong_method = client.put("/api/jobs")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    # Metrics are on their own listener, not on the public port.
    assert client.get("/metrics").status_code == 404
    metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    assert 'videoforge_http_requests_total{method="GET",route="/api/jobs/{job_id}",' \
           'service="gateway",status="401"}' in metrics
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            assert "422" in operation["responses"], (method, path)
    assert client.get("/").status_code == 200 and client.get("/healthz").json() == {
        "status": "ok"}


def test_serve_command_runs_the_gateway(settings_env, gateway_settings, users) -> None:
    port = free_port()
    env = {**os.environ, **settings_env, "PYTHONPATH": str(ROOT), "VF_GATEWAY_MODE": "mount",
           "VF_COGNITO_USER_POOL_ID": gateway_settings.cognito_user_pool_id,
           "VF_COGNITO_CLIENT_ID": gateway_settings.cognito_client_id}
    process = subprocess.Popen(
        [sys.executable, "-m", "videoforge", "serve", "gateway", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1].decode()[-2000:]
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.1)
        r = httpx.get(f"{url}/api/jobs", headers=users["owner"].headers)
        assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
        # The gallery is mounted: one process, one origin.
        assert httpx.get(f"{url}/api/gallery/videos").json()["items"] == []
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    # The access log names the request but never the token.
    assert b"/api/jobs" in stderr and users["owner"].id_token.encode() not in stderr


def test_serve_rejects_bad_input() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "videoforge", "serve", "nonsense"], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
    )
    assert result.returncode == 2 and b"invalid choice" in result.stderr


def test_cors_is_off_unless_configured(gateway_settings) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    with TestClient(create_app(gateway_settings)) as client:
        assert "access-control-allow-origin" not in client.options(
            "/api/jobs", headers=preflight).headers
    settings = gateway_settings.model_copy(update={
        "cors_origins": ["https://app.example"], "rate_limit_read": "1/60"})
    with TestClient(create_app(settings)) as client:
        r = client.options("/api/jobs", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        origin = {"Origin": "https://app.example"}
        client.get("/api/jobs", headers=origin)
        limited = client.get("/api/jobs", headers=origin)
        # Even a 429 carries the CORS headers, so the page can read Retry-After.
        assert limited.status_code == 429
        assert limited.headers["access-control-allow-origin"] == "https://app.example"


def test_cors_preflights_are_rate_limited(gateway_settings) -> None:
    """CORSMiddleware answers preflights itself, before any route: the limiter sits
    outside it, so a flood of preflights is bounded per IP, and a refused one is a bare
    429 (which fails the preflight in the browser) rather than CORS's 200."""
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    settings = gateway_settings.model_copy(update={
        "cors_origins": ["https://app.example"], "rate_limit_preflight": "2/60"})
    with TestClient(create_app(settings)) as client:
        answers = [client.options("/api/jobs", headers=preflight) for _ in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 429]
        assert answers[0].headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-origin" not in answers[2].headers
        assert answers[2].headers["retry-after"]
        # Preflights have their own budget: the requests they precede still pass.
        assert client.get("/api/jobs", headers={"Origin": "https://app.example"}
                          ).status_code != 429
