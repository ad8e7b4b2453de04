"""``videoforge up --data-dir DIR`` keeps everything across a restart: the video uploaded
before it still plays after it, its owner is still its owner, and a second ``up`` on a
directory in use refuses. Ctrl-C stops every process it started; the restart comes at
once, on the same port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.local_stack import (
    DEMO_PASSWORD,
    ROOT,
    launch_stack,
    processes_with,
    subprocess_env,
)
from tests.support.media import make_clip
from videoforge.client import VideoForgeClient
from videoforge.stack.net import free_port


def _second_up(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videoforge", "up", "--port", str(free_port()),
         "--data-dir", str(data_dir)],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=60)


def _play(base_url: str, video_id: str, token: str) -> bytes:
    """What the page does to play: the qualities, a presigned MP4, the HLS master."""
    headers = {"Authorization": f"Bearer {token}"}
    qualities = httpx.get(f"{base_url}/api/stream/{video_id}/qualities", headers=headers)
    assert qualities.status_code == 200, qualities.text
    quality = qualities.json()["qualities"][0]["quality"]
    grant = httpx.get(f"{base_url}/api/stream/{video_id}", params={"quality": quality},
                      headers=headers).json()
    master = httpx.get(f"{base_url}/api/stream/{video_id}/master.m3u8", headers=headers)
    assert master.status_code == 200 and master.text.startswith("#EXTM3U"), master.text
    return httpx.get(grant["url"]).content


def test_a_restart_keeps_videos_users_and_jobs(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    clip = make_clip(tmp_path / "before.mp4", duration=1.0, size="320x240", rate=15)
    first = launch_stack(data_dir, port=port, extra=())
    try:
        refused = _second_up(data_dir)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"error: {data_dir.resolve()} is in use by a running `videoforge up`" \
            in refused.stderr
        assert "stopping" not in refused.stdout
        with VideoForgeClient(first.url) as client:
            client.login(first.user, DEMO_PASSWORD)
            video = client.upload(clip, title="uploaded before the restart")
            video_id = str(video["id"])
            job = client.follow(client.submit_job(video_id).id, timeout_s=120)
            assert job.status == "SUCCEEDED", job
            before = client.video(video_id)
            played_before = _play(first.url, video_id, client.tokens.access_token)
        started = processes_with(first.marker)
    finally:
        assert first.stop() == 0  # Ctrl-C, as a terminal sends it
    # The stores, moto, the gateway, the autoscaler and the notifier at least: all gone.
    assert len(started) >= 4, started
    assert "stopped." in first.text()
    assert processes_with(first.marker) == []

    second = launch_stack(data_dir, port=port, extra=())  # at once, on the same port
    try:
        with VideoForgeClient(second.url) as client:
            client.login(second.user, DEMO_PASSWORD)
            after = client.video(video_id)
            assert after["owner_id"] == before["owner_id"]  # the same user, the same sub
            assert after["status"] == "READY" and after["title"] == before["title"]
            mine = httpx.get(f"{second.url}/api/gallery/me/videos",
                             headers={"Authorization": f"Bearer {client.tokens.access_token}"})
            assert video_id in [v["id"] for v in mine.json()["items"]]
            assert client.job(job.id).status == "SUCCEEDED"
            played = _play(second.url, video_id, client.tokens.access_token)
        assert played == played_before and played[4:8] == b"ftyp"
    finally:
        assert second.stop() == 0
