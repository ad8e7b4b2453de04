"""One error shape for every HTTP service: ``{"error": {"code", "message"}}``.

Domain errors (:mod:`common.errors`) carry no HTTP status; :data:`DOMAIN_STATUS` here is
the one place that gives each kind its status. :class:`ApiError` is for what only HTTP
knows (401 with ``WWW-Authenticate``, 429 with ``Retry-After``).
Validation failures are 422 with the offending fields listed, unknown routes 404, and an
unexpected exception a 500 whose log line names the route, never the request's headers
(tokens live there).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unavailable
from common.logging import get_logger
from common.request_context import HEADER, request_id_of

log = get_logger(__name__)

_DEFAULT_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media",
    422: "invalid", 429: "rate_limited", 500: "internal", 502: "bad_gateway",
    503: "unavailable",
}

# Most specific first: a class that is two kinds takes the first that matches.
DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404), (Forbidden, 403), (Conflict, 409), (Invalid, 422), (Unavailable, 503),
)


def status_of(exc: DomainError) -> int:
    return next((status for kind, status in DOMAIN_STATUS if isinstance(exc, kind)), 500)


class ApiError(Exception):
    """Raise anywhere in a request to answer with the uniform error body."""

    def __init__(self, status_code: int, message: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code or _DEFAULT_CODES.get(status_code, "error")
        self.message = message
        self.headers = headers


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def not_found(what: str = "video") -> NotFound:
    return NotFound(f"{what} not found")


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only location and reason: echoing the input back could echo a secret.
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(DomainError)
    async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_of(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _DEFAULT_CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        first: dict[str, Any] = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        message = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else first["msg"]
        return JSONResponse(error_body("invalid", message, fields=errors), 422)

    @app.exception_handler(DataError)
    async def _unstorable(_: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL class 22 (data exception): a value the database cannot take, such as
        # a NUL byte in text. The caller's input, so a 400, never a 500.
        return JSONResponse(error_body("invalid", "input contains a value the database "
                                                  "cannot store (e.g. a NUL character)"), 400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Sent by Starlette's outermost error middleware, outside the request-id
        # middleware: the id is added here so the caller can quote it to ops.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        request_id = request_id_of(request)
        log.error("unhandled_error", method=request.method, route=route,
                  error_type=type(exc).__name__, request_id=request_id)
        return JSONResponse(error_body("internal", "internal error", request_id=request_id),
                            500, headers={HEADER: request_id} if request_id else None)


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}},
        "required": ["code", "message"]}},
    "required": ["error"],
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the uniform error body."""
    return {
        code: {"description": _DEFAULT_CODES.get(code, "error"),
               "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for code in codes
    }
