"""The web page in headless Chromium (Debian's, driven by Playwright): sign in, upload a
generated clip, watch it become ready, switch quality and check the video really plays.
A screenshot of the player is saved to artifacts/."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stack.conftest import ROOT, RunningStack, big_clip

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required"]
ARTIFACTS = ROOT / "artifacts"
READY_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _plays(page: Any, seconds: float = 0.4) -> None:
    """The video element's clock advances by ``seconds`` from where it is now."""
    start = page.evaluate("() => { const v = document.getElementById('player');"
                          " v.muted = true; v.play().catch(() => {}); return v.currentTime; }")
    page.wait_for_function(
        "([start, step]) => document.getElementById('player').currentTime > start + step",
        arg=[start, seconds], timeout=30_000,
    )


def test_sign_in_upload_watch_and_switch_quality(stack: RunningStack, browser: Any,
                                                 tmp_path: Path) -> None:
    # 720p in, so the ladder gives 480p and 720p (it never upscales); ~10 MB, so the page
    # uploads it in parts.
    clip = big_clip(tmp_path / "pattern.mp4")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    dropped: list[str] = []

    def drop_once(route: Any) -> None:
        # The first PUT of part 2 loses its connection; the page must retry that part.
        if route.request.method == "PUT" and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r".*[?&]partNumber=2(&|$)"), drop_once)

    page.goto(stack.url + "/")
    page.get_by_label("Username").fill(stack.user)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Upload").click()

    page.get_by_label("Video file").set_input_files(str(clip))
    page.get_by_label("Title").fill("Browser test pattern")
    page.get_by_role("button", name="Upload and transcode").click()
    job = page.locator("li.job").first
    job.locator("text=Watch").wait_for(timeout=READY_TIMEOUT_MS)
    assert job.get_attribute("data-status") == "SUCCEEDED"
    assert len(dropped) == 1, "the upload should have gone up in parts"
    assert page.locator("#upload-bar").evaluate("bar => bar.value") == 1

    job.locator("text=Watch").click()
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

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stack-player.png"), full_page=True)
    video_id = page.url.rsplit("/", 1)[-1]

    # Publish it with a description: the public gallery's search finds it.
    page.get_by_label("Description").fill("Colour bars and a tone.")
    page.get_by_label("Visibility").select_option("public")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    page.get_by_role("link", name="Gallery").click()
    page.get_by_label("Search videos").fill("browser")
    page.get_by_role("button", name="Search", exact=True).click()
    tile = page.locator(".tile", has_text="Browser test pattern")
    tile.locator("img[src*='thumbnail.jpg']").wait_for()
    assert "public" in tile.inner_text()
    tile.hover()  # the animated preview plays on hover (and on keyboard focus)
    tile.locator("img[src*='preview.gif']").wait_for()
    page.screenshot(path=str(ARTIFACTS / "stack-gallery.png"), full_page=True)

    # Delete it from its page, after confirming.
    tile.click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete video").click()
    page.wait_for_url("**/#/mine")
    status = page.evaluate(
        """async (id) => (await fetch(`/api/gallery/videos/${id}`, {headers: {Authorization:
        `Bearer ${JSON.parse(sessionStorage.getItem('vf.tokens')).access_token}`}})).status""",
        video_id)
    assert status == 404
    assert not errors, errors
    context.close()
