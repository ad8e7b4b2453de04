"""The identity provider's RSA signing key, kept in the data directory, and its JWKS."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Cognito signs with 2048-bit RSA keys (RS256), as the verifier expects.
_KEY_BITS = 2048
_PUBLIC_EXPONENT = 65537


def _b64(number: int) -> str:
    data = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigningKey:
    def __init__(self, private: rsa.RSAPrivateKey) -> None:
        self.private = private
        numbers = private.public_key().public_numbers()
        self._jwk = {"kty": "RSA", "alg": "RS256", "use": "sig",
                     "n": _b64(numbers.n), "e": _b64(numbers.e)}
        # A stable id derived from the key itself, so a restart keeps it.
        self.kid = hashlib.sha256((self._jwk["n"] + self._jwk["e"]).encode()).hexdigest()[:32]

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise ValueError(f"{path} does not hold an RSA private key")
            return cls(loaded)
        private = rsa.generate_private_key(public_exponent=_PUBLIC_EXPONENT, key_size=_KEY_BITS)
        pem = private.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, readable by its owner only.
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.replace(tmp, path)
        return cls(private)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._jwk, "kid": self.kid}]}
