"""A FastAPI route for the hottest reads, answered without FastAPI's general request
handler.

The endpoint, its signature and so its OpenAPI document stay as they are; what changes is
the work around each call. FastAPI's handler is built for every kind of route (bodies,
forms, generator dependencies and their exit stacks, sub-responses, background tasks,
dependency overrides, sync dependencies in threads), and pays for that generality on every
request. :class:`PlainRoute` accepts only what the hot read routes use (path and query
parameters, the request, and ``async`` dependencies made of the same) and checks that when
the route is declared, so a route it cannot serve faithfully fails at start-up, not at
request time.

Parameters are validated by FastAPI's own per-parameter function, so a bad one gives the
same 422 body; dependencies run in declaration order, each once per request, and one that
raises answers the request, as in FastAPI. The endpoint's return value is serialised once
by the response model's type adapter.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def _is_async(call: Callable[..., Any] | None) -> bool:
    # A security scheme (HTTPBearer) is an instance with an async __call__.
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        type(call).__call__)


def _check(dependant: Dependant, *, top: bool) -> None:
    """What this route serves; anything else is a declaration error."""
    unsupported = [
        name for name, present in (
            ("header parameters", dependant.header_params),
            ("cookie parameters", dependant.cookie_params),
            ("a body", dependant.body_params),
            ("a Response parameter", dependant.response_param_name),
            ("background tasks", dependant.background_tasks_param_name),
            ("security scopes", dependant.security_scopes_param_name),
            ("a websocket", dependant.websocket_param_name),
            ("a sync or generator dependency", not top and not _is_async(dependant.call)),
        ) if present]
    if unsupported:
        raise TypeError(f"PlainRoute cannot serve {dependant.call!r}: it has "
                        + ", ".join(unsupported))
    for sub in dependant.dependencies:
        _check(sub, top=False)


async def _solve(dependant: Dependant, request: Request, errors: list[Any],
                 cache: dict[Any, Any]) -> dict[str, Any]:
    """The keyword arguments of ``dependant.call``, as FastAPI's solver finds them:
    dependencies first, in order (one with invalid parameters is skipped, its errors
    kept), then the path and query parameters."""
    values: dict[str, Any] = {}
    for sub in dependant.dependencies:
        sub_errors: list[Any] = []
        arguments = await _solve(sub, request, sub_errors, cache)
        if sub_errors:
            errors.extend(sub_errors)
            continue
        if sub.use_cache and sub.call in cache:
            solved = cache[sub.call]
        else:
            assert sub.call is not None
            solved = cache[sub.call] = await sub.call(**arguments)
        if sub.name is not None:
            values[sub.name] = solved
    for fields, received in ((dependant.path_params, request.path_params),
                             (dependant.query_params, request.query_params)):
        if fields:
            found, invalid = request_params_to_args(fields, received)
            values.update(found)
            errors.extend(invalid)
    for name in (dependant.request_param_name, dependant.http_connection_param_name):
        if name is not None:
            values[name] = request
    return values


class PlainRoute(APIRoute):
    """``route_class_override=PlainRoute`` (see the module's docstring)."""

    def get_route_handler(self) -> Handler:
        dependant, endpoint = self.dependant, self.endpoint
        _check(dependant, top=True)
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"PlainRoute needs an async endpoint, not {endpoint!r}")
        adapter = TypeAdapter(self.response_model) if self.response_model else None
        status = self.status_code or 200

        async def handle(request: Request) -> Response:
            errors: list[Any] = []
            arguments = await _solve(dependant, request, errors, {})
            if errors:
                raise RequestValidationError(errors)
            result = await endpoint(**arguments)
            if isinstance(result, Response):
                return result
            if adapter is None:
                raise TypeError(f"{endpoint!r} returned no Response and has no model")
            # by_alias, as FastAPI serialises a response model by default.
            return Response(adapter.dump_json(result, by_alias=True), status,
                            media_type="application/json")

        return handle


def plain_get(router: APIRouter, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
    """``@router.get(path, **options)``, served by :class:`PlainRoute`."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(path, endpoint, methods=["GET"], route_class_override=PlainRoute,
                             **options)
        return endpoint

    return register
