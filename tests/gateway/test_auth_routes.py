"""Sign-in pass-through to Cognito, and token checks at the gateway."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from common import aws
from common.auth import CognitoVerifier
from common.settings import CommonSettings
from tests.support.cognito import PASSWORD


def test_login_returns_tokens_that_verify(client, cognito, moto_endpoint) -> None:
    r = client.post("/api/auth/login", json={"username": "owner", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"] and body["expires_in"] > 0
    verifier = CognitoVerifier(region="us-east-1", user_pool_id=cognito.pool_id,
                               client_id=cognito.client_id, endpoint_url=moto_endpoint)
    assert verifier.verify(body["id_token"]).username == "owner"
    assert verifier.verify(body["access_token"]).token_use == "access"
    # Both kinds of token open the API.
    for token in (body["id_token"], body["access_token"]):
        assert client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}
                          ).status_code == 200


@pytest.mark.parametrize("username", ["owner", "nobody"])
def test_wrong_password_or_user_is_401_and_never_logged(client, capfd, username) -> None:
    r = client.post("/api/auth/login",
                    json={"username": username, "password": "Wrong-pass-9!"})
    assert r.status_code == 401
    assert r.json() == {"error": {"code": "unauthorized",
                                  "message": "incorrect username or password"}}
    assert "Wrong-pass-9!" not in "".join(capfd.readouterr())


def test_refresh_pass_through(client) -> None:
    tokens = client.post("/api/auth/login", json={"username": "owner", "password": PASSWORD})
    r = client.post("/api/auth/refresh", json={"refresh_token": tokens.json()["refresh_token"]})
    assert r.status_code == 200, r.text
    token = r.json()["id_token"]
    assert client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 200
    bad = client.post("/api/auth/refresh", json={"refresh_token": "not-a-refresh-token"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"


def test_malformed_login_is_422_without_echoing_input(client) -> None:
    for body in ({}, {"username": "owner"}, {"username": "", "password": "x"},
                 {"username": "owner", "password": "p" * 1000}, []):
        r = client.post("/api/auth/login", json=body)
        assert r.status_code == 422, body
        error = r.json()["error"]
        assert error["code"] == "invalid" and "input" not in str(error["fields"])
        assert "p" * 100 not in r.text


def _forge(claims: dict, **changes) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode({**claims, **changes}, key, algorithm="RS256", headers={"kid": "forged"})


def test_bad_tokens_are_401_with_bearer_challenge(client, users, cognito) -> None:
    owner = users["owner"]
    claims = jwt.decode(owner.id_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(owner.id_token)
    # Re-signing our own claims with another key keeps the real kid: the signature fails.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged_real_kid = jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"]})
    tokens = {
        "garbage": "not-a-jwt",
        "forged": forged_real_kid,
        "unknown kid": _forge(claims),
        "expired": _forge(claims, exp=int(time.time()) - 3600),
    }
    for name, token in tokens.items():
        r = client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert r.headers["WWW-Authenticate"] == "Bearer", name
        assert r.json()["error"]["code"] == "unauthorized"
    anonymous = client.get("/api/jobs")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"


def test_token_of_another_client_is_401(client, moto_endpoint, cognito) -> None:
    idp = aws.client("cognito-idp", CommonSettings(aws_endpoint_url=moto_endpoint))
    other_client = idp.create_user_pool_client(
        UserPoolId=cognito.pool_id, ClientName="cli", ExplicitAuthFlows=["USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    tokens = idp.initiate_auth(
        ClientId=other_client, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "owner", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    for token in (tokens["IdToken"], tokens["AccessToken"]):
        r = client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert "another client" in r.json()["error"]["message"]
