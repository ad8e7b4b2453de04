"""Invoke a Lambda handler module the way API Gateway (HTTP API, payload 2.0) does."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import pytest


def http_api_event(method: str, path: str, *, query: str = "",
                   headers: dict[str, str] | None = None, body: Any = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com",
                    "content-type": "application/json", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "198.51.100.7", "userAgent": "pytest"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "22/Nov/2026:07:00:00 +0000", "timeEpoch": 1795244400000,
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


class _Context:
    function_name = "videoforge"
    aws_request_id = "req-1"
    memory_limit_in_mb = 512

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def load_handler(monkeypatch: pytest.MonkeyPatch, service: str, settings: Any) -> Any:
    """The module's ``handler``, as Lambda would import it with ``settings`` in the env."""
    for name, value in settings.model_dump().items():
        if value is not None:
            raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            monkeypatch.setenv(f"VF_{name.upper()}", str(raw))
    for module in (f"{service}.lambda_handler", f"{service}.app"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    return importlib.import_module(f"{service}.lambda_handler").handler


def invoke(handler: Any, event: dict[str, Any]) -> tuple[int, Any]:
    response = handler(event, _Context())
    body = response.get("body") or ""
    is_json = "json" in str(response.get("headers", {}).get("content-type", ""))
    return response["statusCode"], (json.loads(body) if is_json and body else body)
