"""One OpenAPI document at the gateway for the whole API, mounted or proxied, and the
services built from one explicit registry (videoforge/services.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from gateway.app import create_app
from tests.support.servers import serve_in_thread
from videoforge import services

ROUTED = ("/api/upload/url", "/api/upload/multipart/init", "/api/upload/confirm",
          "/api/gallery/videos", "/api/gallery/videos/{video_id}/views",
          "/api/stream/{video_id}", "/api/stream/{video_id}/master.m3u8")
OWN = ("/api/jobs", "/api/jobs/{job_id}/events", "/api/auth/login")


def _refs(node) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _check_whole_api(spec: dict) -> None:
    validate(spec)  # a valid OpenAPI 3.1 document, every $ref resolvable
    for path in ROUTED + OWN:
        assert path in spec["paths"], path
    # The upload schema is discoverable at the one origin.
    body = spec["paths"]["/api/upload/url"]["post"]["requestBody"]["content"]
    name = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "size_bytes" in spec["components"]["schemas"][name]["properties"]
    schemas = spec["components"]["schemas"]
    for ref in _refs(spec):
        assert ref.rsplit("/", 1)[-1] in schemas, ref
    assert not any(p in ("/metrics", "/healthz") for p in spec["paths"])


def test_mounted_services_are_in_the_gateways_document(gateway_settings) -> None:
    settings = gateway_settings.model_copy(update={"gateway_mode": "mount"})
    with TestClient(services.build("gateway", settings)) as client:
        spec = client.get("/openapi.json").json()
        docs = client.get("/docs")
    _check_whole_api(spec)
    assert docs.status_code == 200 and "/openapi.json" in docs.text


def test_proxied_services_are_in_the_gateways_document(gateway_settings) -> None:
    with ExitStack() as stack:
        urls = {f"{name}_url": stack.enter_context(
                    serve_in_thread(services.build(name, gateway_settings)))
                for name in services.MOUNTED}
        settings = gateway_settings.model_copy(update={"gateway_mode": "proxy", **urls})
        with TestClient(create_app(settings)) as client:
            spec = client.get("/openapi.json").json()
    _check_whole_api(spec)


def test_mount_mode_needs_the_apps_from_the_registry(gateway_settings) -> None:
    settings = gateway_settings.model_copy(update={"gateway_mode": "mount"})
    with pytest.raises(RuntimeError, match="videoforge.services"):
        create_app(settings)
    # The registry builds each service with the gateway's shared settings.
    gallery = services.settings_for("gallery", settings)
    assert type(gallery).__name__ == "GallerySettings"
    assert gallery.database_url == settings.database_url
    assert services.settings_for("gateway", settings) is settings


def test_clashing_schema_names_are_kept_apart() -> None:
    from gateway.openapi import merge

    base = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
            "components": {"schemas": {"Item": {"type": "string"}}}}
    gallery = {"paths": {"/api/gallery/x": {"get": {"responses": {"200": {
        "description": "ok", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Item"}}}}}}},
        "/internal": {"get": {"responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": {"Item": {"type": "integer"}}}}
    merged = merge(base, {"gallery": gallery})
    assert merged["components"]["schemas"] == {"Item": {"type": "string"},
                                               "GalleryItem": {"type": "integer"}}
    schema = merged["paths"]["/api/gallery/x"]["get"]["responses"]["200"]["content"]
    assert schema["application/json"]["schema"]["$ref"] == "#/components/schemas/GalleryItem"
    assert "/internal" not in merged["paths"]  # only what the gateway routes
    assert gallery["components"]["schemas"] == {"Item": {"type": "integer"}}  # untouched
