"""``videoforge up`` runs the webhook notifier: an endpoint on this machine (loopback is
allowlisted by the stack) registered through the API receives signed events."""

from __future__ import annotations

import json
import time

from tests.support.local_stack import RunningStack
from tests.support.webhooks import Receiver, signature_valid
from videoforge.client import VideoForgeClient


def test_an_endpoint_on_this_machine_receives_signed_events(stack: RunningStack) -> None:
    receiver = Receiver()
    try:
        with VideoForgeClient(stack.url) as client:
            client.login(stack.user, stack.password)
            endpoint = client._call("POST", "/api/webhooks/endpoints", json={
                "url": receiver.url("/hooks"), "event_types": ["video.deleted"]})
            video = client._call("POST", "/api/upload/url", json={
                "filename": "gone.mp4", "size_bytes": 10, "title": "short-lived"})
            client._call("DELETE", f"/api/gallery/videos/{video['video_id']}")
            [got] = receiver.wait_for(1, timeout_s=30)
            body = json.loads(got.body)
            assert body["type"] == "video.deleted" and body["data"]["id"] == video["video_id"]
            assert signature_valid(got.headers["VideoForge-Signature"], got.body,
                                   endpoint["secret"], now=time.time())
            log = client._call("GET", f"/api/webhooks/endpoints/{endpoint['id']}/deliveries")
            deadline = time.monotonic() + 10
            while log["items"][0]["status"] != "succeeded" and time.monotonic() < deadline:
                time.sleep(0.2)
                log = client._call("GET",
                                   f"/api/webhooks/endpoints/{endpoint['id']}/deliveries")
            assert log["items"][0]["status"] == "succeeded"
            assert log["items"][0]["last_status_code"] == 204
            client._call("DELETE", f"/api/webhooks/endpoints/{endpoint['id']}")
    finally:
        receiver.close()
