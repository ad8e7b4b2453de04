"""``videoforge up`` as a user runs it: the page answers, ``videoforge submit`` completes,
and bad input fails with one clear line. (Ctrl-C leaving no process behind: test_restart.py,
on a stack of its own, so that no test here stops the shared one.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.local_stack import ROOT, RunningStack
from tests.support.media import big_clip, make_clip
from videoforge.client import MULTIPART_THRESHOLD_BYTES, VideoForgeClient


def _submit(stack: RunningStack, path: Path, *extra: str,
            password: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videoforge", "submit", str(path), "--url", stack.url,
         "--user", stack.user, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=150,
        env={**stack.env, "VF_PASSWORD": password or stack.password},
    )


def test_the_page_and_its_files_answer(stack: RunningStack) -> None:
    page = httpx.get(stack.url + "/")
    assert page.status_code == 200 and "<title>VideoForge</title>" in page.text
    for path in ("/static/app.js", "/static/style.css", "/static/vendor/hls.min.js"):
        assert httpx.get(stack.url + path).status_code == 200, path
    banner = stack.text()
    assert f"{stack.url}/" in banner and f"demo / {stack.password}" in banner
    assert "metrics" in banner and "/metrics" in banner


def test_metrics_endpoints_answer_and_the_prometheus_config_is_valid(
        stack: RunningStack) -> None:
    config = stack.data_dir / "prometheus.yml"
    assert f"prometheus --config.file={config}" in stack.text()
    jobs = {job["job_name"]: job["static_configs"][0]["targets"]
            for job in json.loads(config.read_text())["scrape_configs"]}
    assert set(jobs) == {"gateway", "autoscaler", "worker", "notifier"}
    for job, expected in (("gateway", "videoforge_http_requests_total"),
                          ("autoscaler", "videoforge_fleet_desired_size"),
                          ("worker", "videoforge_jobs_in_flight"),
                          ("notifier", "videoforge_webhook_attempts_in_flight")):
        text = httpx.get(f"http://{jobs[job][0]}/metrics").text
        assert expected in text, (job, text[:500])
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "config", str(config)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_submit_uploads_transcodes_and_prints_the_urls(stack: RunningStack,
                                                       tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", duration=1.0, size="320x240", rate=15)
    done = _submit(stack, clip, "--title", "from the CLI")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ready" in done.stdout
    urls = [line.split()[-1] for line in done.stdout.splitlines() if "http" in line]
    assert any("X-Amz-Signature" in u for u in urls), done.stdout  # a presigned MP4
    mp4 = next(u for u in urls if "X-Amz-Signature" in u)
    assert httpx.get(mp4).content[4:8] == b"ftyp"


class DropsOnePart(httpx.HTTPTransport):
    """Storage transport whose first PUT of part 2 loses its connection."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("partNumber") == "2" and not self.dropped:
            self.dropped += 1
            raise httpx.RemoteProtocolError("connection dropped", request=request)
        return super().handle_request(request)


def test_multipart_upload_resumes_after_a_dropped_part(stack: RunningStack,
                                                       tmp_path: Path) -> None:
    clip = big_clip(tmp_path / "big.mp4")
    assert clip.stat().st_size >= MULTIPART_THRESHOLD_BYTES
    transport = DropsOnePart()
    seen: list[int] = []
    with VideoForgeClient(stack.url, storage_transport=transport) as client:
        client.login(stack.user, stack.password)
        video = client.upload(clip, on_progress=lambda done, _: seen.append(done))
    assert transport.dropped == 1
    assert video["status"] == "UPLOADED" and video["source_size"] == clip.stat().st_size
    assert seen == sorted(seen) and seen[-1] == clip.stat().st_size and len(seen) >= 3


def test_submit_fails_with_one_clear_line(stack: RunningStack, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", duration=0.5, size="160x120", audio=False)
    wrong = _submit(stack, clip, password="not-the-password")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: ") and "password" in wrong.stderr

    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    bad = _submit(stack, text)
    assert bad.returncode != 0 and bad.stderr.startswith("error: "), bad.stderr

    # Looks like an MP4 (so the upload is accepted) but is cut short: the job fails for
    # good, and the reason is shown.
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[:3000])
    failed = _submit(stack, truncated)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.stderr.startswith("error: job ") and " failed: " in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr

    missing = _submit(stack, tmp_path / "nothing.mp4")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_the_sample_is_transcoded(stack: RunningStack) -> None:
    deadline = time.monotonic() + 120
    while "ready: " not in stack.text() and time.monotonic() < deadline:
        assert stack.process.poll() is None, stack.text()
        assert "error: the sample" not in stack.text(), stack.text()  # no use waiting on
        time.sleep(0.5)
    banner = stack.text()
    assert "submitting a generated sample" in banner
    assert "ready: " in banner and "720p" in banner, banner

