"""Amazon Cognito token verification, shared by every HTTP service.

Tokens are RS256 JWTs signed with the user pool's keys, published at
``{issuer}/.well-known/jwks.json`` (fetched and refetched by :mod:`common.jwks`; while
they cannot be fetched, verification raises ``KeysUnavailable``, an HTTP 503).

A verified token is remembered until its ``exp`` (bounded LRU), so a client that sends the
same token on every request pays for the RS256 check once, not per request.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from common.jwks import KeySet, UnknownKey

ADMIN_GROUP = "admin"
# Cognito signs with RS256 only (Cognito developer guide, "Verifying a JSON web token").
_ALGORITHMS = ["RS256"]
# Seconds of clock skew tolerated between us and Cognito.
_LEEWAY_S = 30
_VERIFIED_CACHE_MAX = 10_000


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


class AuthError(Exception):
    """The token is missing, malformed, expired or not from our pool and client."""


@dataclass(frozen=True)
class Principal:
    user_id: str               # the Cognito `sub`: stable, used as owner id everywhere
    username: str
    groups: frozenset[str]
    token_use: str             # "id" or "access"

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups


class CognitoVerifier:
    def __init__(
        self,
        *,
        region: str,
        user_pool_id: str,
        client_id: str,
        endpoint_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        self.client_id = client_id
        # moto serves the key set at {endpoint}/{pool}/.well-known/jwks.json; the issuer
        # claim stays the real AWS URL either way.
        base = f"{endpoint_url.rstrip('/')}/{user_pool_id}" if endpoint_url else self.issuer
        self.keys = KeySet(f"{base}/.well-known/jwks.json", clock=clock)
        # sha256(token) -> (principal, exp): only tokens that verified are ever stored.
        self._verified: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        self._verified_lock = threading.Lock()

    def _key_for(self, kid: str) -> Any:
        try:
            return self.keys.key(kid)
        except UnknownKey:
            raise AuthError("token signed with an unknown key") from None

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before and not yet expired; no I/O, no RSA."""
        digest = _digest(token)
        with self._verified_lock:
            cached = self._verified.get(digest)
            if cached is not None and cached[1] > time.time():
                self._verified.move_to_end(digest)
                return cached[0]
        return None

    def verify(self, token: str) -> Principal:
        if (principal := self.cached(token)) is not None:
            return principal
        digest = _digest(token)
        principal, expires = self._verify(token)
        with self._verified_lock:
            self._verified[digest] = (principal, expires)
            while len(self._verified) > _VERIFIED_CACHE_MAX:
                self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthError("token has no key id")
        try:
            claims = jwt.decode(
                token,
                self._key_for(kid),
                algorithms=_ALGORITHMS,
                issuer=self.issuer,
                leeway=_LEEWAY_S,
                options={"verify_aud": False, "require": ["exp", "iss", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        return self._principal(claims), float(claims["exp"])

    def _principal(self, claims: dict[str, Any]) -> Principal:
        token_use = claims.get("token_use")
        # ID tokens carry the app client in `aud`, access tokens in `client_id`.
        if token_use == "id":
            audience = claims.get("aud")
            username = claims.get("cognito:username", claims["sub"])
        elif token_use == "access":
            audience = claims.get("client_id")
            username = claims.get("username", claims["sub"])
        else:
            raise AuthError("token_use must be id or access")
        if audience != self.client_id:
            raise AuthError("token was issued to another client")
        groups = claims.get("cognito:groups") or []
        return Principal(
            user_id=str(claims["sub"]),
            username=str(username),
            groups=frozenset(str(g) for g in groups),
            token_use=str(token_use),
        )
