"""The web page in headless Chromium (Debian's, driven by Playwright): sign in, drop a
cut-short file on the uploader and see its upload fail with its reason, upload a generated
clip (in parts, one of which drops), watch it become ready, switch quality and check the
video really plays, publish it, find it, preview it, delete it.
Screenshots go to artifacts/ (stack-player.png, stack-gallery.png; stack-failure.png when
the test fails)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.local_stack import ROOT, RunningStack
from tests.support.media import big_clip, make_clip

ARTIFACTS = ROOT / "artifacts"
READY_TIMEOUT_MS = 120_000
TITLE = "Browser test pattern"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    # Every Content-Security-Policy violation the page causes (it must cause none).
    context.add_init_script(
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`));")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    context.close()


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _plays(page: Any, seconds: float = 0.4) -> None:
    """The video element's clock advances by ``seconds`` from where it is now."""
    start = page.evaluate("() => { const v = document.getElementById('player');"
                          " v.muted = true; v.play().catch(() => {}); return v.currentTime; }")
    page.wait_for_function(
        "([start, step]) => document.getElementById('player').currentTime > start + step",
        arg=[start, seconds], timeout=30_000,
    )


def _sign_in(page: Any, stack: RunningStack) -> None:
    page.goto(stack.url + "/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill(stack.user)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Sign in").click()


def _drop_file(page: Any, selector: str, name: str, data: bytes) -> None:
    """Drop a file onto an element, as dragging it from the desktop does."""
    transfer = page.evaluate_handle(
        """([name, bytes]) => { const t = new DataTransfer();
        t.items.add(new File([new Uint8Array(bytes)], name, {type: "video/mp4"}));
        return t; }""", [name, list(data)])
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer})


def _upload_cut_short(page: Any, clip: Path) -> None:
    """A small file dropped on the uploader goes up in one PUT; cut short, its job fails
    and the row says why."""
    page.get_by_role("link", name="Upload").click()
    # The MP4 header without its index; the title comes from the dropped file's name.
    _drop_file(page, "#drop-zone", "Cut short.mp4", clip.read_bytes()[:3000])
    page.get_by_text("Cut short.mp4 (0.0 MiB)").wait_for()
    assert page.get_by_label("Title").input_value() == "Cut short"
    assert page.get_by_label("Video file").evaluate("i => i.files[0].name") == "Cut short.mp4"
    page.get_by_role("button", name="Upload and transcode").click()
    page.get_by_text("Uploaded; transcoding.").wait_for()
    job = page.locator("li.job", has_text="Cut short")
    job.locator(".error", has_text="Failed: ").wait_for(timeout=READY_TIMEOUT_MS)
    assert job.get_attribute("data-status") == "FAILED"


def _upload_until_ready(page: Any, clip: Path) -> None:
    dropped: list[str] = []

    def drop_once(route: Any) -> None:
        # The first PUT of part 2 loses its connection; the page must retry that part.
        if route.request.method == "PUT" and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r".*[?&]partNumber=2(&|$)"), drop_once)
    page.get_by_label("Video file").set_input_files(str(clip))
    page.get_by_label("Title").fill(TITLE)
    page.get_by_role("button", name="Upload and transcode").click()
    job = page.locator("li.job", has_text=TITLE)
    job.get_by_role("link", name="Watch").wait_for(timeout=READY_TIMEOUT_MS)
    assert job.get_attribute("data-status") == "SUCCEEDED"
    assert len(dropped) == 1, "the upload should have gone up in parts"
    assert page.locator("#upload-bar").evaluate("bar => bar.value") == 1
    job.get_by_role("link", name="Watch").click()


def _switch_qualities(page: Any) -> None:
    quality = page.get_by_label("Quality")
    quality.locator("option[value='720p']").wait_for(state="attached")
    options = quality.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert {"auto", "480p", "720p"} <= set(options), options
    for choice in ("480p", "720p", "auto"):
        quality.select_option(choice)
        page.wait_for_function(
            "() => document.getElementById('player').readyState >= 2", timeout=30_000)
        _plays(page)
    # The choice is remembered for the next video.
    assert page.evaluate("localStorage.getItem('vf.quality')") == "auto"
    _screenshot(page, "stack-player.png")


def _publish_find_and_preview(page: Any) -> None:
    page.get_by_label("Description").fill("Colour bars and a tone.")
    page.get_by_label("Visibility").select_option("public")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    page.get_by_role("link", name="Gallery").click()
    page.get_by_label("Search videos").fill("browser test")
    page.get_by_role("button", name="Search", exact=True).click()
    page.locator("#grid[aria-busy='false']").wait_for(state="attached")
    tile = page.locator(".tile", has_text=TITLE)
    tile.locator("img[src*='thumbnail.jpg']").wait_for()
    # Public, so no "private" mark; the duration on the poster and the upload date below.
    text = tile.inner_text()
    assert "private" not in text and tile.locator(".duration").inner_text() == "0:02"
    assert tile.locator("time").get_attribute("datetime")
    tile.hover()  # the animated preview plays on hover (and on keyboard focus)
    tile.locator("img[src*='preview.gif']").wait_for()
    _screenshot(page, "stack-gallery.png")
    tile.click()


def _delete(page: Any) -> None:
    video_id = page.url.rsplit("/", 1)[-1]
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete video").click()
    page.wait_for_url("**/#/mine")
    status = page.evaluate(
        """async (id) => (await fetch(`/api/gallery/videos/${id}`, {headers: {Authorization:
        `Bearer ${JSON.parse(sessionStorage.getItem('vf.tokens')).access_token}`}})).status""",
        video_id)
    assert status == 404


def test_sign_in_upload_watch_switch_quality_publish_delete(
        stack: RunningStack, page: Any, tmp_path: Path) -> None:
    # 720p in, so the ladder gives 480p and 720p (it never upscales); 11 MB, so the page
    # uploads it in parts.
    clip = big_clip(tmp_path / "pattern.mp4")
    small = make_clip(tmp_path / "small.mp4", duration=0.5, size="160x120", audio=False)
    try:
        _sign_in(page, stack)
        _upload_cut_short(page, small)
        _upload_until_ready(page, clip)
        _switch_qualities(page)
        _publish_find_and_preview(page)
        violations = page.evaluate("window.cspViolations")
        _delete(page)
    except Exception:
        _screenshot(page, "stack-failure.png")
        raise
    assert not page.errors, page.errors
    assert violations == [], violations
