"""``videoforge up`` runs the webhook notifier: an endpoint on this machine (loopback is
allowlisted by the stack) registered through the API receives signed events, from a video
delete and from a whole transcode; the page's Webhooks view manages endpoints."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.local_stack import ROOT, RunningStack
from tests.support.media import make_clip
from tests.support.webhooks import Received, Receiver, signature_valid
from videoforge.client import VideoForgeClient

ARTIFACTS = ROOT / "artifacts"


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


WANTED = {"job.queued", "job.succeeded", "rendition.ready", "video.ready"}


def _events_of(receiver: Receiver, job_id: str, video_id: str, *, renditions: int
               ) -> list[Received]:
    """The deliveries about this job and its video, once all have come (any order): the
    stack's sample, or another test's upload, may be transcoding for the same user."""
    deadline = time.monotonic() + 30
    while True:
        got = [r for r in list(receiver.received)
               if _about(json.loads(r.body), job_id, video_id)]
        types = [json.loads(r.body)["type"] for r in got]
        if set(types) >= WANTED and types.count("rendition.ready") >= renditions:
            assert set(types) == WANTED, types
            return got
        assert time.monotonic() < deadline, [r.body[:80] for r in receiver.received]
        time.sleep(0.1)


def _about(body: dict, job_id: str, video_id: str) -> bool:
    data = body["data"]
    return data.get("job_id") == job_id or data.get("id") in (job_id, video_id)


def test_a_transcode_sends_its_job_rendition_and_video_events(stack: RunningStack,
                                                              tmp_path: Path) -> None:
    """The whole path: the worker's transitions write the events, the stack's notifier
    delivers them, and each body is what the API read returns."""
    receiver = Receiver()
    types = ["job.queued", "job.succeeded", "job.failed", "rendition.ready", "video.ready"]
    try:
        with VideoForgeClient(stack.url) as client:
            client.login(stack.user, stack.password)
            endpoint = client._call("POST", "/api/webhooks/endpoints",
                                    json={"url": receiver.url(), "event_types": types})
            clip = make_clip(tmp_path / "hooked.mp4", duration=1.0, size="320x240", rate=15)
            video = client.upload(clip, title="hooked")
            job = client.submit_job(video["id"])
            assert client.follow(job.id, timeout_s=150).status == "SUCCEEDED"
            qualities = client.qualities(video["id"])["qualities"]
            got = _events_of(receiver, job.id, video["id"], renditions=len(qualities))
            bodies = [json.loads(r.body) for r in got]
            for r in got:
                assert signature_valid(r.headers["VideoForge-Signature"], r.body,
                                       endpoint["secret"], now=time.time())
            by_type: dict[str, list[dict]] = {}
            for b in bodies:
                by_type.setdefault(b["type"], []).append(b)
            assert by_type["job.queued"][0]["data"]["id"] == job.id
            assert by_type["job.queued"][0]["data"]["status"] == "QUEUED"
            final_job = client._call("GET", f"/api/jobs/{job.id}")
            succeeded = by_type["job.succeeded"][0]["data"]
            assert succeeded["status"] == "SUCCEEDED" and succeeded["id"] == job.id
            assert {k: v for k, v in succeeded.items() if k != "timings"} == \
                {k: v for k, v in final_job.items() if k != "timings"}
            ready = by_type["video.ready"][0]["data"]
            assert ready == client._call("GET", f"/api/gallery/videos/{video['id']}")
            renditions = sorted((b["data"] for b in by_type["rendition.ready"]),
                                key=lambda d: d["height"])
            assert [{k: d[k] for k in qualities[0]} for d in renditions] == qualities
            assert {d["job_id"] for d in renditions} == {job.id}
            assert len({b["id"] for b in bodies}) == len(bodies)  # one id per event
            client._call("DELETE", f"/api/webhooks/endpoints/{endpoint['id']}")
    finally:
        receiver.close()


def test_the_page_manages_endpoints_and_shows_their_deliveries(stack: RunningStack) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    receiver = Receiver()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: dialog.accept())
        try:
            page.goto(stack.url + "/#/webhooks")  # signing in comes back here
            page.get_by_label("Username").fill(stack.user)
            page.get_by_label("Password").fill(stack.password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("link", name="Webhooks").click()
            page.get_by_label("Endpoint URL").fill(receiver.url("/page"))
            page.get_by_label("Description").fill("from the page")
            page.get_by_role("button", name="Add endpoint").click()
            secret = page.locator(".secret").inner_text(timeout=10_000)
            assert secret.startswith("whsec_")
            # The form is ready for the next one: every event type ticked again.
            assert page.locator("input[name=event_types]:checked").count() == 7
            row = page.locator(".endpoint", has_text=receiver.url("/page"))
            assert "from the page" in row.inner_text()

            with VideoForgeClient(stack.url) as client:  # something happens
                client.login(stack.user, stack.password)
                video = client._call("POST", "/api/upload/url", json={
                    "filename": "page.mp4", "size_bytes": 10, "title": "for the page"})
                client._call("DELETE", f"/api/gallery/videos/{video['video_id']}")
            [first] = receiver.wait_for(1, timeout_s=30)
            assert signature_valid(first.headers["VideoForge-Signature"], first.body, secret,
                                   now=time.time())

            row.get_by_role("button", name="Deliveries").click()
            table = row.locator("table")
            table.get_by_text("succeeded").wait_for(timeout=10_000)
            assert "video.deleted" in table.inner_text() and "HTTP 204" in table.inner_text()
            table.get_by_role("button", name="Send again").click()
            again = receiver.wait_for(2, timeout_s=30)[1]
            assert again.headers["VideoForge-Event-Id"] == first.headers["VideoForge-Event-Id"]

            row.get_by_role("button", name="Disable").click()
            row.locator(".endpoint-state", has_text="disabled by its owner").wait_for()
            row.get_by_role("button", name="Rotate secret").click()
            page.locator(".secret-box", has_text="New secret").wait_for()
            assert page.locator(".secret").inner_text() != secret
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "stack-webhooks.png"), full_page=True)
            row.get_by_role("button", name="Delete").click()
            row.wait_for(state="detached")
            assert errors == []
        finally:
            browser.close()
            receiver.close()
