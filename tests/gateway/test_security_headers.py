"""Security headers: every response, the page's CSP, the docs page's CSP, HSTS."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient

from gateway.app import create_app


def _directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}


def test_every_response_is_nosniff_unframable_and_sends_no_referrer(client) -> None:
    for r in (client.get("/api/jobs"), client.get("/api/nothing"), client.get("/healthz"),
              client.get("/openapi.json")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"
        csp = _directives(r.headers["content-security-policy"])
        assert csp["default-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
        assert "strict-transport-security" not in r.headers  # plain http


def test_the_page_may_use_what_it_and_hls_js_need_and_nothing_else(client,
                                                                   gateway_settings) -> None:
    csp = _directives(client.get("/").headers["content-security-policy"])
    bucket = gateway_settings.aws_endpoint_url  # moto: path-style URLs on its origin
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["media-src"] == ["'self'", "blob:", bucket]   # MSE plays from blob: URLs
    assert csp["worker-src"] == ["blob:"]                    # hls.js's transmux worker
    assert csp["connect-src"] == ["'self'", bucket]          # API, segments, uploads
    assert csp["img-src"] == ["'self'", bucket]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in str(csp) and "'unsafe-eval'" not in str(csp)
    # The page itself has no inline script or style for the policy to break.
    page = client.get("/").text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert not re.search(r"\son[a-z]+=|\sstyle=", page)


def test_the_docs_page_admits_its_own_inline_script_by_hash(client) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "/openapi.json" in r.text
    inline = re.search(r"<script>(.*?)</script>", r.text, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    csp = _directives(r.headers["content-security-policy"])
    assert f"'sha256-{digest}'" in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"]


def test_hsts_only_when_the_caller_came_over_https(gateway_settings) -> None:
    settings = gateway_settings.model_copy(update={"trusted_proxies": 1})
    with TestClient(create_app(settings)) as behind_tls:
        via_proxy = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
        r = behind_tls.get("/healthz", headers=via_proxy)
        assert r.headers["strict-transport-security"] == "max-age=31536000"
        # The scheme is the word of the hop that names the client: none here.
        r = behind_tls.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in r.headers
        assert "strict-transport-security" not in behind_tls.get("/healthz").headers
    with TestClient(create_app(gateway_settings)) as direct:  # no trusted proxy: ignored
        r = direct.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in r.headers
    with TestClient(create_app(gateway_settings), base_url="https://testserver") as tls:
        assert tls.get("/healthz").headers["strict-transport-security"]
