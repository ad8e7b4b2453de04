"""A mounted service is entered at its router (gateway/mounting.py): its errors still get
the uniform bodies, request ids and security headers, from the gateway's own layers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

from common.app_state import ServiceState
from common.errors import NotFound
from common.webapp import service_app
from gateway.app import create_app
from gateway.mounting import RouterEntry, entered
from gateway.settings import GatewaySettings


def _service(settings: GatewaySettings, name: str) -> FastAPI:
    app = service_app(service=name, state=ServiceState(settings), title=name,
                      description=name, mounted=True)
    prefix = "/api/gallery" if name == "gallery" else "/api/stream"

    @app.get(prefix + "/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    @app.get(prefix + "/missing")
    def missing() -> None:
        raise NotFound("video not found")

    @app.get(prefix + "/number")
    def number(n: int = Query(ge=1)) -> dict[str, int]:
        return {"n": n}

    return app


@pytest.fixture
def gateway(gateway_settings: GatewaySettings) -> Iterator[TestClient]:
    settings = gateway_settings.model_copy(update={"gateway_mode": "mount"})
    mounts = {name: _service(settings, name) for name in ("gallery", "streaming")}
    with TestClient(create_app(settings, mounts=mounts), raise_server_exceptions=False) as c:
        yield c


def test_a_service_built_like_the_gateway_is_entered_at_its_router(gateway_settings) -> None:
    host = service_app(service="gateway", state=ServiceState(gateway_settings), title="g",
                       description="g")
    service = _service(gateway_settings, "streaming")
    assert isinstance(entered(service, host=host), RouterEntry)
    service.add_exception_handler(KeyError, lambda request, exc: None)  # handlers differ
    assert entered(service, host=host) is service


def test_errors_of_a_mounted_service_get_the_uniform_body(gateway) -> None:
    missing = gateway.get("/api/stream/missing", headers={"X-Request-ID": "abc"})
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "video not found"}}
    assert missing.headers["X-Request-ID"] == "abc"
    assert missing.headers["X-Content-Type-Options"] == "nosniff"
    invalid = gateway.get("/api/gallery/number?n=0")
    assert invalid.status_code == 422
    assert invalid.json()["error"]["fields"] == [
        {"loc": ["query", "n"], "msg": "Input should be greater than or equal to 1"}]
    unknown = gateway.get("/api/stream/nothing/here/at/all")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_a_bug_in_a_mounted_service_is_a_500_with_the_request_id(gateway) -> None:
    r = gateway.get("/api/gallery/boom", headers={"X-Request-ID": "req-1"})
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal", "message": "internal error",
                                  "request_id": "req-1"}}
    assert r.headers["X-Request-ID"] == "req-1"
