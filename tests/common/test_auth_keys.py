"""The key set endpoint failing: only successful fetches count, failures back off, and a
broken endpoint is 503 (the caller may retry), never 500 or a 401 for a good token."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from common.auth import CognitoVerifier
from common.errors import Unavailable
from gateway.app import create_app
from gateway.settings import GatewaySettings
from videoforge.stack.net import free_port


class FlakyKeys:
    """A key set endpoint in front of moto's: ``mode`` says what it answers."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "ok"
        self.requests = 0
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        flaky = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                flaky.requests += 1
                if flaky.mode == "ok":
                    with urllib.request.urlopen(flaky.upstream + self.path) as r:
                        status, body = 200, r.read()
                elif flaky.mode == "5xx":
                    status, body = 503, b"upstream down"
                else:  # "html": a captive portal or a misrouted path
                    status, body = 200, b"<html>not json</html>"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        return Handler


@pytest.fixture
def keys(moto_endpoint: str) -> Iterator[FlakyKeys]:
    flaky = FlakyKeys(moto_endpoint)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", flaky.port), flaky.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield flaky
    server.shutdown()
    server.server_close()


def _verifier(endpoint: str, pool_id: str, client_id: str, clock) -> CognitoVerifier:
    return CognitoVerifier(region="us-east-1", user_pool_id=pool_id, client_id=client_id,
                           endpoint_url=endpoint, clock=clock)


@pytest.mark.parametrize("mode", ["5xx", "html"])
def test_a_failed_fetch_backs_off_and_does_not_block_the_next(keys, pool, mode) -> None:
    pool_id, client_id, tokens = pool
    now = [1000.0]
    v = _verifier(keys.url, pool_id, client_id, lambda: now[0])
    keys.mode = mode
    with pytest.raises(Unavailable):
        v.verify(tokens["IdToken"])
    with pytest.raises(Unavailable):  # backing off: no second request yet
        v.verify(tokens["IdToken"])
    assert keys.requests == 1
    keys.mode = "ok"
    now[0] += 2  # past the first backoff, far less than the minute between good fetches
    assert v.verify(tokens["IdToken"]).username == "alice"
    assert keys.requests == 2


def test_backoff_grows_while_the_endpoint_stays_down(keys, pool) -> None:
    pool_id, client_id, tokens = pool
    now = [0.0]
    v = _verifier(keys.url, pool_id, client_id, lambda: now[0])
    keys.mode = "5xx"
    attempts = []
    for _ in range(40):  # 40 s of requests, one a second
        before = keys.requests
        with pytest.raises(Unavailable):
            v.verify(tokens["IdToken"])
        if keys.requests > before:
            attempts.append(now[0])
        now[0] += 1
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[-1] > gaps[0] and len(attempts) <= 7, attempts


def test_unknown_key_ids_cannot_force_a_fetch_per_request(keys, pool) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from common.auth import AuthError

    pool_id, client_id, tokens = pool
    now = [0.0]
    v = _verifier(keys.url, pool_id, client_id, lambda: now[0])
    assert v.verify(tokens["IdToken"]).username == "alice"  # first use: one fetch
    claims = jwt.decode(tokens["IdToken"], options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(5):
        forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": f"forged-{n}"})
        with pytest.raises(AuthError, match="unknown key"):
            v.verify(forged)
    assert keys.requests == 1
    now[0] += 61  # a minute on, an unknown id may mean rotated keys: one more fetch
    with pytest.raises(AuthError, match="unknown key"):
        v.verify(jwt.encode(claims, key, algorithm="RS256", headers={"kid": "forged-x"}))
    assert keys.requests == 2


def test_an_unreachable_endpoint_is_unavailable(pool) -> None:
    pool_id, client_id, tokens = pool
    v = _verifier(f"http://127.0.0.1:{free_port()}", pool_id, client_id, lambda: 0.0)
    with pytest.raises(Unavailable):
        v.verify(tokens["IdToken"])


def test_the_api_answers_503_while_the_keys_cannot_be_fetched(keys, pool, aws_resources,
                                                              clean_database) -> None:
    pool_id, client_id, tokens = pool
    keys.mode = "html"
    settings = GatewaySettings(
        env="test", database_url=clean_database, aws_endpoint_url=aws_resources.endpoint_url,
        aws_endpoint_urls={"cognito-idp": keys.url}, cognito_user_pool_id=pool_id,
        cognito_client_id=client_id, gateway_mode="off")
    with TestClient(create_app(settings)) as client:
        r = client.get("/api/jobs", headers={"Authorization": f"Bearer {tokens['IdToken']}"})
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "keys_unavailable"
