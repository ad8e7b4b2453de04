"""Cognito tokens from a real (moto) user pool, verified through its JWKS endpoint."""

from __future__ import annotations

import time

import jwt
import pytest

from common.auth import AuthError, CognitoVerifier


def verifier(moto_endpoint, pool_id, client_id) -> CognitoVerifier:
    return CognitoVerifier(region="us-east-1", user_pool_id=pool_id, client_id=client_id,
                           endpoint_url=moto_endpoint)


def test_id_and_access_tokens_verify(moto_endpoint, pool) -> None:
    pool_id, client_id, tokens = pool
    v = verifier(moto_endpoint, pool_id, client_id)
    for name, use in (("IdToken", "id"), ("AccessToken", "access")):
        principal = v.verify(tokens[name])
        assert principal.username == "alice" and principal.token_use == use
        assert principal.is_admin


def test_wrong_client_and_garbage_rejected(moto_endpoint, pool) -> None:
    pool_id, _, tokens = pool
    v = verifier(moto_endpoint, pool_id, "someone-else")
    with pytest.raises(AuthError, match="another client"):
        v.verify(tokens["IdToken"])
    with pytest.raises(AuthError, match="malformed"):
        v.verify("not-a-jwt")


def test_forged_and_expired_tokens_rejected(moto_endpoint, pool) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    pool_id, client_id, tokens = pool
    v = verifier(moto_endpoint, pool_id, client_id)
    claims = jwt.decode(tokens["IdToken"], options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})
    with pytest.raises(AuthError, match="invalid"):
        v.verify(forged)
    unknown_kid = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "rotated"})
    with pytest.raises(AuthError, match="unknown key"):
        v.verify(unknown_kid)
    expired = {**claims, "exp": int(time.time()) - 3600}
    with pytest.raises(AuthError):
        v.verify(jwt.encode(expired, key, algorithm="RS256", headers={"kid": "dummy"}))


def test_verified_tokens_are_remembered_until_they_expire(moto_endpoint, pool,
                                                          monkeypatch) -> None:
    pool_id, client_id, tokens = pool
    v = verifier(moto_endpoint, pool_id, client_id)
    first = v.verify(tokens["IdToken"])
    expires = jwt.decode(tokens["IdToken"], options={"verify_signature": False})["exp"]
    calls = []

    def counting_verify(token):
        calls.append(token)
        return first, expires + 3600

    monkeypatch.setattr(v, "_verify", counting_verify)
    assert v.verify(tokens["IdToken"]) == first and not calls  # served from the cache
    monkeypatch.setattr(time, "time", lambda: expires + 1)
    assert v.verify(tokens["IdToken"]) == first  # past exp: verified again
    assert calls == [tokens["IdToken"]]
