"""Domain errors: what went wrong, in terms of the platform, never of HTTP.

Modules below the routes (submission, access, uploads, confirm) raise these; the one
adapter in :mod:`common.http` turns each kind into its HTTP answer. ``code`` is the
stable machine-readable name callers may branch on (it lands in ``error.code``);
``message`` is for people.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every domain error; ``code`` defaults per kind."""

    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does."""

    default_code = "not_found"


class Forbidden(DomainError):
    """The caller may see the thing but not do this to it."""

    default_code = "forbidden"


class Conflict(DomainError):
    """The request is valid but the thing's current state does not allow it."""

    default_code = "conflict"


class Invalid(DomainError):
    """The request itself is wrong (a value out of range, an unknown name)."""

    default_code = "invalid"


class Unavailable(DomainError):
    """A dependency (queue, key endpoint, identity provider) cannot be reached now;
    nothing was changed, and the same request may succeed later."""

    default_code = "unavailable"
