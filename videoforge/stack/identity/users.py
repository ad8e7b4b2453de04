"""The local user pool: users (with a ``sub`` fixed at creation), password hashes,
groups and refresh tokens, in one SQLite database in the data directory."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from common.auth import ADMIN_GROUP

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, sub TEXT NOT NULL UNIQUE, password TEXT,
    status TEXT NOT NULL, attributes TEXT NOT NULL, groups TEXT NOT NULL,
    created REAL NOT NULL, modified REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    digest TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username)
        ON DELETE CASCADE, expires REAL NOT NULL);
"""
# The groups this pool has; provisioning makes the same one in Cognito.
GROUPS = frozenset({ADMIN_GROUP})
# Cognito's default refresh token lifetime: 30 days (Cognito developer guide,
# "Using the refresh token").
REFRESH_TOKEN_S = 30 * 24 * 3600
# scrypt at n=2**14, r=8: ~16 MiB and some tens of ms per check (RFC 7914 §2 parameters).
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}

CONFIRMED = "CONFIRMED"
FORCE_CHANGE_PASSWORD = "FORCE_CHANGE_PASSWORD"


class UserError(Exception):
    """A Cognito error: ``code`` is its exception name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class User:
    username: str
    sub: str
    status: str
    attributes: dict[str, str] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    created: float = 0.0
    modified: float = 0.0


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _one(self, sql: str, *args: object) -> tuple[object, ...] | None:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return tuple(row) if row else None

    def _write(self, sql: str, *args: object) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    def get(self, username: str) -> User:
        row = self._one("SELECT username, sub, status, attributes, groups, created, modified "
                        "FROM users WHERE username = ?", username)
        if row is None:
            raise UserError("UserNotFoundException", "User does not exist.")
        name, sub, status, attributes, groups, created, modified = row
        return User(str(name), str(sub), str(status), json.loads(str(attributes)),
                    frozenset(json.loads(str(groups))), float(created),  # type: ignore[arg-type]
                    float(modified))  # type: ignore[arg-type]

    def create(self, username: str, attributes: dict[str, str],
               temporary_password: str | None) -> User:
        now = time.time()
        sub = str(uuid.uuid4())
        password = hash_password(temporary_password) if temporary_password else None
        try:
            self._write("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)", username, sub,
                        password, FORCE_CHANGE_PASSWORD,
                        json.dumps({**attributes, "sub": sub}), "[]", now, now)
        except sqlite3.IntegrityError:
            raise UserError("UsernameExistsException",
                            "User account already exists.") from None
        return self.get(username)

    def set_password(self, username: str, password: str, *, permanent: bool) -> None:
        self.get(username)
        row = self._one("SELECT password FROM users WHERE username = ?", username)
        changed = not check_password(password, row[0] if row else None)  # type: ignore[arg-type]
        self._write("UPDATE users SET password = ?, status = ?, modified = ? "
                    "WHERE username = ?", hash_password(password),
                    CONFIRMED if permanent else FORCE_CHANGE_PASSWORD, time.time(), username)
        if changed:  # a new password ends the sessions the old one opened
            self._write("DELETE FROM refresh_tokens WHERE username = ?", username)

    def set_group(self, username: str, group: str, *, member: bool) -> None:
        if group not in GROUPS:
            raise UserError("ResourceNotFoundException", "Group not found.")
        user = self.get(username)
        groups = (user.groups | {group}) if member else (user.groups - {group})
        self._write("UPDATE users SET groups = ?, modified = ? WHERE username = ?",
                    json.dumps(sorted(groups)), time.time(), username)

    def delete(self, username: str) -> None:
        if not self._write("DELETE FROM users WHERE username = ?", username):
            raise UserError("UserNotFoundException", "User does not exist.")

    def authenticate(self, username: str, password: str) -> User:
        """The user, if ``password`` is theirs; a wrong user and a wrong password read the
        same (Cognito's PreventUserExistenceErrors)."""
        row = self._one("SELECT password FROM users WHERE username = ?", username)
        if row is None or not check_password(password, row[0]):  # type: ignore[arg-type]
            raise UserError("NotAuthorizedException", "Incorrect username or password.")
        return self.get(username)

    def new_refresh_token(self, username: str) -> str:
        token = secrets.token_urlsafe(48)
        self._write("INSERT INTO refresh_tokens VALUES (?, ?, ?)", _token_digest(token),
                    username, time.time() + REFRESH_TOKEN_S)
        return token

    def redeem_refresh_token(self, token: str) -> User:
        row = self._one("SELECT username, expires FROM refresh_tokens WHERE digest = ?",
                        _token_digest(token))
        if row is None or float(row[1]) < time.time():  # type: ignore[arg-type]
            raise UserError("NotAuthorizedException", "Invalid Refresh Token")
        return self.get(str(row[0]))

    def close(self) -> None:
        with self._lock:
            self._db.close()
