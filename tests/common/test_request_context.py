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
