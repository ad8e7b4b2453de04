"""PlainRoute answers as FastAPI's own handler does: the same endpoint, declared both
ways, gives the same status and body for good and bad input, and the same OpenAPI
operation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from common.errors import NotFound
from common.http import install_error_handlers
from common.plain_route import PlainRoute, plain_get


class Answer(BaseModel):
    id: str
    n: int
    at: datetime | None
    flag: bool
    who: str | None


async def caller(request: Request) -> str | None:
    token = request.headers.get("authorization")
    if token == "bad":
        raise NotFound("no such caller")
    return token


class Paging:
    def __init__(self, limit: int | None, cursor: str | None) -> None:
        self.limit, self.cursor = limit, cursor

    @classmethod
    async def from_query(cls, limit: Annotated[int | None, Query(ge=1, le=100)] = None,
                         cursor: Annotated[str | None, Query(max_length=8)] = None) -> Paging:
        return cls(limit, cursor)


async def endpoint(item_id: Annotated[str, Path(pattern=r"^[a-z]{1,4}$")],
                   who: Annotated[str | None, Depends(caller)],
                   paging: Annotated[Paging, Depends(Paging.from_query)],
                   at: datetime | None = None, flag: bool = False,
                   quality: Annotated[str, Query(max_length=4)] = "auto") -> Answer:
    """An endpoint shaped like the hot reads'."""
    if item_id == "gone":
        raise NotFound("item not found")
    return Answer(id=item_id + quality, n=paging.limit or 0, at=at, flag=flag, who=who)


class Found(BaseModel):
    search: str
    tags: list[str]
    page: int


async def search(search: Annotated[str, Query(alias="q", min_length=2)],
                 tags: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies it)
                 page: Annotated[int, Query(validate_default=True, ge=1)] = 1) -> Found:
    """A required aliased parameter, a list (FastAPI's own reader) and a validated default."""
    return Found(search=search, tags=tags, page=page)


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter(prefix="/api")
    router.get("/fastapi/{item_id}", response_model=Answer)(endpoint)
    plain_get(router, "/plain/{item_id}", response_model=Answer)(endpoint)
    router.get("/fastapi-search", response_model=Found)(search)
    plain_get(router, "/plain-search", response_model=Found)(search)
    app.include_router(router)
    return app


CASES = [
    ("abc", {}, {}),
    ("abc", {"limit": "5", "cursor": "x", "at": "2026-01-02T03:04:05Z", "flag": "yes",
             "quality": "720p"}, {"authorization": "someone"}),
    ("abc", {"limit": "0"}, {}), ("abc", {"limit": "many"}, {}),
    ("abc", {"cursor": "123456789", "at": "yesterday", "flag": "maybe"}, {}),
    ("abc", {"quality": "12345"}, {}), ("ABCDE", {}, {}), ("gone", {}, {}),
    ("ABCDE", {"limit": "0"}, {"authorization": "bad"}),
    ("abc", [("limit", "2"), ("limit", "3")], {}),
]


@pytest.mark.parametrize(("item", "params", "headers"), CASES)
def test_plain_answers_as_fastapi_does(item, params, headers) -> None:
    with TestClient(_app()) as client:
        expected = client.get(f"/api/fastapi/{item}", params=params, headers=headers)
        got = client.get(f"/api/plain/{item}", params=params, headers=headers)
    assert (got.status_code, got.json()) == (expected.status_code, expected.json())
    assert got.headers["content-type"] == expected.headers["content-type"]


@pytest.mark.parametrize("params", [
    {}, {"q": "x"}, {"q": "xy"}, {"search": "xy"}, [("q", "xy"), ("tags", "a"), ("tags", "b")],
    {"q": "xy", "page": "0"}, {"q": "xy", "page": "3"}, [("q", "xy"), ("q", "z")],
])
def test_plain_reads_query_parameters_as_fastapi_does(params) -> None:
    with TestClient(_app()) as client:
        expected = client.get("/api/fastapi-search", params=params)
        got = client.get("/api/plain-search", params=params)
    assert (got.status_code, got.json()) == (expected.status_code, expected.json())


def test_the_openapi_operation_is_fastapis() -> None:
    paths = _app().openapi()["paths"]
    fastapi, plain = paths["/api/fastapi/{item_id}"]["get"], paths["/api/plain/{item_id}"]["get"]
    for operation in (fastapi, plain):
        operation.pop("operationId")
    assert plain == fastapi


def test_a_route_it_cannot_serve_fails_when_declared() -> None:
    def sync_endpoint() -> None: ...

    async def with_header(x: Annotated[str, Depends(lambda: "sync")]) -> None: ...

    for unsupported in (sync_endpoint, with_header):
        with pytest.raises(TypeError, match="PlainRoute"):
            APIRouter().add_api_route("/x", unsupported, route_class_override=PlainRoute)
