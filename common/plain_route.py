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
same 422 body. What FastAPI works out about each parameter on every request (whether it
is a model, a list, which of its aliases the request uses) is worked out here once, when
the route is built: for a plain one (a single name, not a list, not a model) the request
is read with one lookup. Dependencies run in declaration order, each once per request, and
one that raises answers the request, as in FastAPI. The endpoint's return value is
serialised once by the response model's type adapter.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi._compat import ModelField, field_annotation_is_sequence, get_missing_field_error
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    request_params_to_args,
)
from fastapi.exceptions import RequestValidationError
from fastapi.params import Param
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


@dataclass(frozen=True, slots=True)
class _PlainParam:
    """A path or query parameter with one name, neither a list nor a model."""

    field: ModelField
    loc: tuple[str, str]
    required: bool
    validate_default: bool


def _plain(fields: Sequence[ModelField]) -> tuple[_PlainParam, ...] | None:
    """The fields as plain parameters, or None when one is not plain (FastAPI's reader
    then serves them all)."""
    plain = []
    for field in fields:
        info = field.field_info
        aliases = _get_param_aliases(field)
        if (not isinstance(info, Param) or _get_param_model(field) is not None
                or len(aliases) != 1 or field_annotation_is_sequence(info.annotation)):
            return None
        plain.append(_PlainParam(field, (info.in_.value, aliases[0][1]), info.is_required(),
                                 bool(info.validate_default)))
    return tuple(plain)


def _read_plain(params: tuple[_PlainParam, ...], received: Mapping[str, Any],
                ) -> tuple[dict[str, Any], list[Any]]:
    """``request_params_to_args(fields, received)`` for plain parameters: the same values,
    defaults and errors."""
    values: dict[str, Any] = {}
    errors: list[Any] = []
    for param in params:
        value = received.get(param.loc[1])
        if value is None:
            if param.required:
                errors.append(get_missing_field_error(loc=param.loc))
                continue
            value = deepcopy(param.field.default)
            if not param.validate_default:
                values[param.field.name] = value
                continue
        found, invalid = param.field.validate(value, values, loc=param.loc)
        if invalid:
            errors.extend(invalid)
        else:
            values[param.field.name] = found
    return values, errors


Reader = Callable[[Mapping[str, Any]], tuple[dict[str, Any], list[Any]]]


def _reader(fields: Sequence[ModelField]) -> Reader:
    plain = _plain(fields)
    if plain is None:
        return lambda received: request_params_to_args(fields, received)
    return lambda received: _read_plain(plain, received)


class _Arguments:
    """How to find the keyword arguments of ``dependant.call``, worked out once."""

    def __init__(self, dependant: Dependant) -> None:
        self.dependant = dependant
        self.subs = tuple(_Arguments(sub) for sub in dependant.dependencies)
        self.path = _reader(dependant.path_params) if dependant.path_params else None
        self.query = _reader(dependant.query_params) if dependant.query_params else None
        self.request_names = tuple(
            name for name in (dependant.request_param_name,
                              dependant.http_connection_param_name) if name is not None)

    async def solve(self, request: Request, errors: list[Any],
                    cache: dict[Any, Any]) -> dict[str, Any]:
        """As FastAPI's solver finds them: dependencies first, in order (one with invalid
        parameters is skipped, its errors kept), then the path and query parameters."""
        values: dict[str, Any] = {}
        for arguments in self.subs:
            sub = arguments.dependant
            sub_errors: list[Any] = []
            found = await arguments.solve(request, sub_errors, cache)
            if sub_errors:
                errors.extend(sub_errors)
                continue
            if sub.use_cache and sub.call in cache:
                solved = cache[sub.call]
            else:
                assert sub.call is not None
                solved = cache[sub.call] = await sub.call(**found)
            if sub.name is not None:
                values[sub.name] = solved
        for read, received in ((self.path, request.path_params),
                               (self.query, request.query_params)):
            if read is not None:
                found, invalid = read(received)
                values.update(found)
                errors.extend(invalid)
        for name in self.request_names:
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
        solver = _Arguments(dependant)

        async def handle(request: Request) -> Response:
            errors: list[Any] = []
            arguments = await solver.solve(request, errors, {})
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
