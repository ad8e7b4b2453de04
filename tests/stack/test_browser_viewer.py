"""The page for viewers, in headless Chromium: an anonymous visitor browses, searches and
plays a public video while private ones stay hidden; progressive playback seeks to 80 %
and plays on; hls.js plays and switches level; both read the same CMAF files (HLS through
byte ranges); hovering the seek bar shows the storyboard tile of that moment.
Screenshot: artifacts/viewer-watch.png (viewer-failure.png when the test fails)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.cmaf import parse_cues
from tests.support.local_stack import ROOT, RunningStack
from tests.support.media import make_clip
from videoforge.client import VideoForgeClient

ARTIFACTS = ROOT / "artifacts"
PUBLIC_TITLE, PRIVATE_TITLE = "Harbour at dusk", "Harbour in secret"
SECONDS = 12.0
WAIT_MS = 30_000


@dataclass
class Published:
    public_id: str
    private_id: str


@pytest.fixture(scope="module")
def videos(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """Through the API as the demo user: a 12 s 720p public video (480p + 720p) and a
    short private one, both transcoded."""
    root = tmp_path_factory.mktemp("viewer")
    public = make_clip(root / "harbour.mp4", duration=SECONDS, size="1280x720", rate=10)
    private = make_clip(root / "secret.mp4", duration=1.0, size="320x240", rate=10)
    with VideoForgeClient(stack.url, timeout_s=60) as client:
        client.login(stack.user, stack.password)
        ids = []
        for path, title, visibility in ((public, PUBLIC_TITLE, "public"),
                                        (private, PRIVATE_TITLE, "private")):
            video = client.upload(path, title=title, visibility=visibility)
            job = client.submit_job(video["id"])
            assert client.follow(job.id, timeout_s=180).status == "SUCCEEDED"
            ids.append(video["id"])
    return Published(*ids)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Media:
    """Requests for the CMAF files: path → the Range headers asked for it."""

    seen: dict[str, list[str]] = field(default_factory=dict)

    def record(self, request: Any) -> None:
        path = urlsplit(request.url).path
        if path.endswith(".mp4") or path.endswith(".m4s"):
            self.seen.setdefault(path, []).append(request.headers.get("range", ""))

    def take(self) -> dict[str, list[str]]:
        seen, self.seen = self.seen, {}
        return seen


@pytest.fixture
def anonymous(browser: Any) -> Iterator[tuple[Any, Media]]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    media = Media()
    page.on("request", media.record)
    yield page, media
    context.close()


def _plays_past(page: Any, t: float) -> None:
    page.evaluate("() => { const v = document.getElementById('player'); v.muted = true;"
                  " v.play().catch(() => {}); }")
    page.wait_for_function("t => document.getElementById('player').currentTime > t",
                           arg=t, timeout=WAIT_MS)


def _browse_and_search(page: Any, stack: RunningStack) -> None:
    page.goto(stack.url + "/")
    page.get_by_role("link", name="Sign in").wait_for()  # no wall: the gallery is open
    page.locator("#grid[aria-busy='false']").wait_for(state="attached")
    card = page.locator(".tile", has_text=PUBLIC_TITLE)
    card.wait_for()
    assert card.locator(".duration").inner_text() == "0:12"
    assert card.locator("time").get_attribute("datetime")
    assert page.locator(".tile", has_text=PRIVATE_TITLE).count() == 0
    assert page.get_by_role("link", name="Upload").is_hidden()
    page.get_by_label("Search videos").fill("harbour")
    page.get_by_role("button", name="Search", exact=True).click()
    page.locator("#grid[aria-busy='false']").wait_for(state="attached")
    titles = page.locator(".tile .title").all_inner_texts()
    assert titles == [PUBLIC_TITLE], titles
    card.click()


def _progressive_seeks_to_80_percent(page: Any, media: Media) -> dict[str, list[str]]:
    media.take()  # what the page read before: this step records from here on
    page.get_by_label("Quality").select_option("720p")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1",
                           timeout=WAIT_MS)
    seek = page.get_by_role("slider", name="Seek")
    seek.fill("800")  # 80 % through the seek bar
    at = page.evaluate("() => document.getElementById('player').currentTime")
    assert at == pytest.approx(0.8 * SECONDS, abs=0.2)
    _plays_past(page, at + 0.5)
    return media.take()


def _recovers_when_storage_refuses_the_url(page: Any) -> None:
    """As when a presigned URL has expired mid-viewing: the player fetches a fresh one and
    plays on from where it was."""
    refused: list[str] = []
    asked: list[str] = []

    def refuse_once(route: Any) -> None:
        if not refused:
            refused.append(route.request.url)
            route.fulfill(status=403, body="<Error><Code>AccessDenied</Code></Error>")
        else:
            route.continue_()

    page.evaluate("() => { document.getElementById('player').currentTime = 2; }")
    page.route("**/480p.mp4?*", refuse_once)
    page.on("request", lambda r: asked.append(r.url) if "quality=480p" in r.url else None)
    page.get_by_label("Quality").select_option("480p")
    _plays_past(page, page.evaluate("() => document.getElementById('player').currentTime")
                + 0.4)
    assert len(refused) == 1 and len(asked) == 2  # a second URL was asked for
    assert page.locator("#watch-error").inner_text() == ""
    page.unroute("**/480p.mp4?*")


def _storyboard_tiles_follow_the_pointer(page: Any, video_id: str) -> None:
    text = page.evaluate("id => fetch(`/api/stream/${id}/storyboard.vtt`).then(r => r.text())",
                         video_id)
    cues = parse_cues(text)
    assert cues[0][0] == 0.0 and cues[-1][1] == pytest.approx(SECONDS, abs=0.05)
    assert all(a[1] == b[0] for a, b in zip(cues, cues[1:], strict=False))
    seek = page.get_by_role("slider", name="Seek")
    box = seek.bounding_box()
    duration = page.evaluate("() => document.getElementById('player').duration")
    tile = page.locator(".scrub-tile")
    for start, end, _, xywh in (cues[0], cues[len(cues) // 2], cues[-1]):
        middle = (start + end) / 2
        seek.hover(position={"x": box["width"] * middle / duration, "y": box["height"] / 2})
        page.wait_for_function("xywh => document.querySelector('.scrub-tile').dataset.xywh"
                               " === xywh", arg=",".join(map(str, xywh)), timeout=WAIT_MS)
        assert tile.is_visible()
        assert "storyboard.jpg" in tile.evaluate("t => t.style.backgroundImage")
    page.mouse.move(0, 0)
    page.locator(".scrub-preview").wait_for(state="hidden")


def _hls_plays_and_switches_level(page: Any, media: Media) -> dict[str, list[str]]:
    page.evaluate("() => { document.getElementById('player').currentTime = 1; }")
    page.get_by_label("Quality").select_option("auto")
    page.wait_for_function("() => document.getElementById('player').dataset.level",
                           timeout=WAIT_MS)
    start = page.evaluate("() => document.getElementById('player').currentTime")
    _plays_past(page, start + 0.4)
    first = page.evaluate("() => document.getElementById('player').dataset.level")
    target = "480" if first == "720" else "720"
    index = page.evaluate("h => window.vfPlayer.hls.levels.findIndex(l => String(l.height) "
                          "=== h)", target)
    page.evaluate("i => { window.vfPlayer.hls.currentLevel = i; }", index)
    page.wait_for_function("h => document.getElementById('player').dataset.level === h",
                           arg=target, timeout=WAIT_MS)
    now = page.evaluate("() => document.getElementById('player').currentTime")
    _plays_past(page, now + 0.4)
    assert page.get_by_label("Quality").locator("option[value='auto']").inner_text() == \
        f"Auto ({target}p)"
    return media.take()


def _private_stays_hidden(page: Any, stack: RunningStack, video_id: str) -> None:
    status = page.evaluate("id => fetch(`/api/gallery/videos/${id}`).then(r => r.status)",
                           video_id)
    assert status == 404
    page.goto(f"{stack.url}/#/watch/{video_id}")
    page.get_by_text("This video does not exist, or it is private").wait_for()
    assert page.locator("#watch-body").is_hidden()


def test_anonymous_visitor_browses_searches_and_watches(
        stack: RunningStack, videos: Published, anonymous: tuple[Any, Media]) -> None:
    page, media = anonymous
    try:
        _browse_and_search(page, stack)
        page.wait_for_url(f"**/#/watch/{videos.public_id}")
        page.wait_for_function("url => document.getElementById('share-url').value === url",
                               arg=page.url, timeout=WAIT_MS)
        progressive = _progressive_seeks_to_80_percent(page, media)
        _recovers_when_storage_refuses_the_url(page)
        _storyboard_tiles_follow_the_pointer(page, videos.public_id)
        adaptive = _hls_plays_and_switches_level(page, media)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "viewer-watch.png"), full_page=True)
        _private_stays_hidden(page, stack, videos.private_id)
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "viewer-failure.png"), full_page=True)
        raise
    # Both ways read the same objects: the quality's one CMAF file, which hls.js reads in
    # byte ranges; no segment files exist.
    [file_720] = [p for p in progressive if p.endswith("/720p.mp4")]
    assert file_720 in adaptive and any(p.endswith("/480p.mp4") for p in adaptive)
    assert not [p for p in adaptive if p.endswith(".m4s")]
    assert all(r.startswith("bytes=") for ranges in adaptive.values() for r in ranges)
    assert not page.errors, page.errors


def test_video_files_are_one_per_quality(videos: Published, stack: RunningStack,
                                         tmp_path: Path) -> None:
    with VideoForgeClient(stack.url) as client:
        offered = client.qualities(videos.public_id)
    assert [q["quality"] for q in offered["qualities"]] == ["480p", "720p"]
    assert offered["hls"] and offered["storyboard"]
