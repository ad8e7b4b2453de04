"""The webhooks API: endpoints (secret shown once, rotation, disable, delete), the URL
rules at registration, the delivery log and redelivery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pytest
from fastapi.testclient import TestClient

from common import events, webhook_deliveries
from common.db import session_factory
from common.events import EventType
from common.models import DeliveryStatus, utcnow
from common.webhook_address import check_url, parse_networks
from gateway.app import create_app
from gateway.webhooks import url_checker
from tests.support.webhooks import fixed_resolver, truncate_webhooks

PUBLIC_IP = "93.184.216.34"
HOOK = "https://hooks.example.test/videoforge"


@pytest.fixture
def hooks_client(gateway_settings) -> Iterator[TestClient]:
    """The gateway whose URL check resolves hooks.example.test to a public address (and
    every other name through the system resolver, so ``localhost`` is really loopback)."""
    answers = {"hooks.example.test": [PUBLIC_IP], "rebind.example.test": [PUBLIC_IP, "127.0.0.1"],
               "meta.example.test": ["169.254.169.254"], "lan.example.test": ["10.0.0.7"]}
    from common.webhook_address import system_resolver

    def resolve(host: str, port: int) -> list[str]:
        return fixed_resolver(answers)(host, port) if host.endswith(".test") else \
            system_resolver(host, port)

    app = create_app(gateway_settings)
    app.dependency_overrides[url_checker] = lambda: partial(check_url, resolver=resolve)
    with TestClient(app) as client:
        yield client
    truncate_webhooks(gateway_settings.database_url)


def _create(client, user, url=HOOK, types=("job.succeeded",), **extra):
    return client.post("/api/webhooks/endpoints", headers=user.headers,
                       json={"url": url, "event_types": list(types), **extra})


def test_secret_is_shown_once_and_endpoints_are_their_owners(hooks_client, users) -> None:
    r = _create(hooks_client, users["owner"], types=["video.ready", "job.failed", "job.failed"],
                description="my app")
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["event_types"] == ["job.failed", "video.ready"]  # de-duplicated, ordered
    assert r.headers["Location"] == f"/api/webhooks/endpoints/{created['id']}"
    url = r.headers["Location"]
    shown = hooks_client.get(url, headers=users["owner"].headers).json()
    assert "secret" not in shown and shown["enabled"] is True and shown["url"] == HOOK
    listed = hooks_client.get("/api/webhooks/endpoints", headers=users["owner"].headers).json()
    assert [e["id"] for e in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]
    for who in ("other", "admin"):
        assert hooks_client.get(url, headers=users[who].headers).status_code == 404
        assert hooks_client.delete(url, headers=users[who].headers).status_code == 404
        assert hooks_client.get("/api/webhooks/endpoints",
                                headers=users[who].headers).json()["items"] == []
    assert hooks_client.get(url).status_code == 401
    assert hooks_client.get("/api/webhooks/endpoints/not-a-uuid",
                            headers=users["owner"].headers).status_code == 404


@pytest.mark.parametrize("url, why", [
    ("http://hooks.example.test/x", "https://"),
    ("https://localhost/x", "loopback"),
    ("https://127.0.0.1:8443/x", "loopback"),
    ("https://[::1]/x", "loopback"),
    ("https://[::ffff:127.0.0.1]/x", "loopback"),
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("https://meta.example.test/x", "metadata"),
    ("https://lan.example.test/x", "private"),
    ("https://192.168.1.1/x", "private"),
    ("https://rebind.example.test/x", "127.0.0.1"),
    ("https://user:pw@hooks.example.test/x", "user name"),
    ("https://nowhere.example.test/x", "does not resolve"),
    ("ftp://hooks.example.test/x", "https://"),
    ("https:///x", "no host"),
    ("https://hooks.example.test/x#frag", "fragment"),
])
def test_unsafe_urls_are_refused_at_registration(hooks_client, users, url, why) -> None:
    r = _create(hooks_client, users["owner"], url=url)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "unsafe_url"
    assert why in r.json()["error"]["message"]


def test_this_machines_own_name_is_refused_when_it_resolves_to_loopback(hooks_client,
                                                                       users) -> None:
    import socket

    from common.webhook_address import UnsafeUrl, system_resolver

    name = socket.gethostname()
    try:
        addresses = system_resolver(name, 443)
    except UnsafeUrl:
        pytest.skip(f"{name} does not resolve here")
    if not any(a.startswith("127.") or a == "::1" for a in addresses):
        pytest.skip(f"{name} resolves to {addresses}, not loopback")
    r = _create(hooks_client, users["owner"], url=f"https://{name}:8443/hooks")
    assert r.status_code == 422 and "loopback" in r.json()["error"]["message"]


def test_the_allowlist_opens_loopback_and_plain_http_to_it(gateway_settings, users) -> None:
    settings = gateway_settings.model_copy(update={"webhook_allowed_networks": ["127.0.0.0/8"]})
    with TestClient(create_app(settings)) as client:
        assert _create(client, users["owner"], url="http://127.0.0.1:9/hooks").status_code == 201
        assert _create(client, users["owner"], url="https://localhost/x").status_code in (201,
                                                                                          422)
        # Outside the allowlist the rules stand: ::1 is not 127.0.0.0/8, and http needs it.
        assert _create(client, users["owner"], url="https://[::1]/x").status_code == 422
        assert _create(client, users["owner"], url="http://10.0.0.1/x").status_code == 422
    truncate_webhooks(gateway_settings.database_url)
    assert parse_networks(["127.0.0.0/8", " ::1/128 "])[1].version == 6


def test_bad_event_types_and_empty_updates_are_422(hooks_client, users) -> None:
    listed = hooks_client.get("/api/webhooks/event-types", headers=users["owner"].headers)
    assert listed.json() == [t.value for t in EventType]
    assert _create(hooks_client, users["owner"], types=[]).status_code == 422
    assert _create(hooks_client, users["owner"], types=["job.exploded"]).status_code == 422
    endpoint = _create(hooks_client, users["owner"]).json()
    url = f"/api/webhooks/endpoints/{endpoint['id']}"
    assert hooks_client.patch(url, json={}, headers=users["owner"].headers).status_code == 422
    assert hooks_client.patch(url, json={"secret": "x"},
                              headers=users["owner"].headers).status_code == 422


def test_disable_enable_update_and_delete(hooks_client, users) -> None:
    endpoint = _create(hooks_client, users["owner"]).json()
    url, h = f"/api/webhooks/endpoints/{endpoint['id']}", users["owner"].headers
    off = hooks_client.patch(url, json={"enabled": False}, headers=h).json()
    assert off["enabled"] is False and off["disabled_reason"] == "disabled by its owner"
    on = hooks_client.patch(url, json={"enabled": True, "event_types": ["job.queued"]},
                            headers=h).json()
    assert on["enabled"] is True and on["disabled_reason"] is None
    assert on["event_types"] == ["job.queued"]
    moved = hooks_client.patch(url, json={"url": "https://localhost/x"}, headers=h)
    assert moved.status_code == 422 and "loopback" in moved.json()["error"]["message"]
    assert hooks_client.get(url, headers=h).json()["url"] == HOOK
    assert hooks_client.delete(url, headers=h).status_code == 204
    assert hooks_client.get(url, headers=h).status_code == 404


def test_rotation_shows_a_new_secret_once_and_keeps_the_old_for_a_grace(hooks_client,
                                                                        users) -> None:
    created = _create(hooks_client, users["owner"]).json()
    url, h = f"/api/webhooks/endpoints/{created['id']}/secret", users["owner"].headers
    rotated = hooks_client.post(url, headers=h).json()
    assert rotated["secret"] != created["secret"] and rotated["secret"].startswith("whsec_")
    assert rotated["previous_secret_expires_at"] is not None
    again = hooks_client.post(url, json={"keep_previous_s": 0}, headers=h).json()
    assert again["previous_secret_expires_at"] is None
    assert hooks_client.post(url, json={"keep_previous_s": -1}, headers=h).status_code == 422
    assert hooks_client.post(url, headers=users["other"].headers).status_code == 404


def test_too_many_endpoints(hooks_client, users) -> None:
    from gateway.webhook_endpoints import MAX_ENDPOINTS_PER_USER

    for _ in range(MAX_ENDPOINTS_PER_USER):
        assert _create(hooks_client, users["other"]).status_code == 201
    r = _create(hooks_client, users["other"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_endpoints"


def test_delivery_log_pages_and_redelivers(hooks_client, users, gateway_settings) -> None:
    owner = users["owner"]
    endpoint = _create(hooks_client, owner, types=["video.deleted"]).json()
    sessions = session_factory(gateway_settings.database_url)
    with sessions.begin() as session:
        for n in range(3):
            events.record_event(session, type=EventType.VIDEO_DELETED, owner_id=owner.sub,
                                subject_id=f"v{n}", payload={"n": n})
        events.record_event(session, type=EventType.JOB_QUEUED, owner_id=owner.sub,
                            subject_id="j", payload={})  # not subscribed
        events.record_event(session, type=EventType.VIDEO_DELETED, owner_id=users["other"].sub,
                            subject_id="v", payload={})  # someone else's
    with sessions.begin() as session:
        made = webhook_deliveries.fan_out(session, now=utcnow())
        assert made.deliveries == 3 and made.events >= 5  # other tests may leave events
    log_url = f"/api/webhooks/endpoints/{endpoint['id']}/deliveries"
    first = hooks_client.get(log_url, params={"limit": 2}, headers=owner.headers).json()
    rest = hooks_client.get(log_url, params={"limit": 2, "cursor": first["next_cursor"]},
                            headers=owner.headers).json()
    items = first["items"] + rest["items"]
    assert len(items) == 3 and rest["next_cursor"] is None
    assert {i["status"] for i in items} == {"pending"} and items[0]["attempts"] == 0
    assert all(i["event_type"] == "video.deleted" for i in items)
    detail = hooks_client.get(f"/api/webhooks/deliveries/{items[0]['id']}",
                              headers=owner.headers).json()
    assert detail["event"]["id"] == detail["event_id"] and "n" in detail["event"]["data"]
    assert hooks_client.get(f"/api/webhooks/deliveries/{items[0]['id']}",
                            headers=users["other"].headers).status_code == 404
    with sessions.begin() as session:  # the notifier gave up on it
        [claim] = webhook_deliveries.claim_due(session, claimer="t", now=utcnow(), limit=1,
                                               lease=timedelta(minutes=1))
        webhook_deliveries.fail(session, claim, status_code=500, error="HTTP 500",
                                now=utcnow() + webhook_deliveries.RETRY_HORIZON,
                                retry_at=utcnow())
    failed = hooks_client.get(log_url, params={"status": "failed"}, headers=owner.headers).json()
    [gone] = failed["items"]
    assert (gone["attempts"], gone["last_status_code"], gone["next_attempt_at"]) == (1, 500, None)
    # No delivery succeeded for the whole horizon: the endpoint was disabled, with why.
    endpoint_url = f"/api/webhooks/endpoints/{endpoint['id']}"
    shown = hooks_client.get(endpoint_url, headers=owner.headers).json()
    assert shown["enabled"] is False and "no delivery succeeded for 24 hours" in \
        shown["disabled_reason"] and "HTTP 500" in shown["disabled_reason"]
    redeliver_url = f"/api/webhooks/deliveries/{gone['id']}/redeliver"
    refused = hooks_client.post(redeliver_url, headers=owner.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "endpoint_disabled"
    hooks_client.patch(endpoint_url, json={"enabled": True}, headers=owner.headers)
    again = hooks_client.post(redeliver_url, headers=owner.headers)
    assert again.status_code == 202 and again.json()["status"] == DeliveryStatus.PENDING
    assert again.json()["next_attempt_at"] is not None
    bad_cursor = hooks_client.get(log_url, params={"cursor": "abc"}, headers=owner.headers)
    assert bad_cursor.status_code == 400


def test_openapi_documents_every_event_as_a_webhook(hooks_client) -> None:
    spec = hooks_client.get("/openapi.json").json()
    assert set(spec["webhooks"]) == {t.value for t in EventType}
    post = spec["webhooks"]["rendition.ready"]["post"]
    assert "VideoForge-Signature" in {p["name"] for p in post["parameters"]}
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    envelope = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(envelope["properties"]) == {"id", "type", "created_at", "data"}
    assert envelope["properties"]["data"]["$ref"].endswith("/RenditionPublic")
