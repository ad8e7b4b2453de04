"""Every service answers with a request id; a mounted app keeps its host's id."""

from __future__ import annotations

from fastapi import Request
from fastapi.testclient import TestClient

from common.app_state import ServiceState
from common.settings import CommonSettings
from common.webapp import service_app


def _app(tmp_path, name: str):
    state = ServiceState(CommonSettings(database_url=f"sqlite:///{tmp_path / 'vf.db'}"))
    return service_app(service=name, state=state, title=name, description=name)


def test_request_id_is_given_kept_and_shared_with_mounted_apps(tmp_path) -> None:
    outer, inner = _app(tmp_path, "outer"), _app(tmp_path, "inner")

    @inner.get("/whoami")
    def whoami(request: Request) -> dict[str, str]:
        return {"request_id": request.state.request_id}

    outer.mount("/inner", inner)
    with TestClient(outer) as client:
        fresh = client.get("/healthz")
        assert len(fresh.headers["x-request-id"]) == 32
        kept = client.get("/healthz", headers={"X-Request-ID": "abc-1"})
        assert kept.headers["x-request-id"] == "abc-1"
        nested = client.get("/inner/whoami", headers={"X-Request-ID": "abc-2"})
        assert nested.json() == {"request_id": "abc-2"}
        assert nested.headers.get_list("x-request-id") == ["abc-2"]


def test_a_callers_request_id_is_kept_only_when_short_and_plain(tmp_path) -> None:
    """Sent as raw ASGI headers: HTTP clients refuse to send the worst of these at all."""
    import asyncio

    app = _app(tmp_path, "ids")

    def answer(given: bytes) -> str:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b""}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/healthz", "raw_path": b"/healthz",
                 "query_string": b"", "headers": [(b"x-request-id", given)],
                 "client": ("127.0.0.1", 1), "server": ("t", 80), "scheme": "http",
                 "http_version": "1.1", "asgi": {"version": "3.0"}, "root_path": ""}
        asyncio.run(app(scope, receive, send))
        return dict(sent[0]["headers"])[b"x-request-id"].decode("latin-1")

    assert answer(b"job-42.retry_1") == "job-42.retry_1"
    for bad in (b"a" * 65, b"abc\n", b"abc\r\nSet-Cookie: x=1", b"", b"caf\xc3\xa9",
                b"a b", b"../../etc", b"<script>"):
        replaced = answer(bad)
        assert replaced != bad.decode("latin-1") and len(replaced) == 32, bad
