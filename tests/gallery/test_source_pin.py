"""The worker transcodes exactly the bytes that were confirmed: confirm pins a copy no upload
URL can reach, so overwriting the upload afterwards (here with an HLS playlist that names a
local file, through the still-valid presigned PUT) changes nothing and reads nothing."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.errors import Conflict
from common.models import GalleryVideo
from common.storage import is_confirmed_key
from gallery import source_pin
from processor.job_runner import Outcome
from tests.support.aws_resources import AwsResources
from tests.support.media import make_clip, probe_streams
from tests.support.source_kinds import fifo, hls_playlist
from tests.support.worker import Stack, worker_settings


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = make_clip(tmp_path_factory.mktemp("pin") / "clip.mp4", duration=1.0,
                     size="160x120", rate=10)
    return Path(path).read_bytes()


def _upload(client: Any, cognito: Any, clip: bytes) -> dict[str, Any]:
    body = {"filename": "clip.mp4", "size_bytes": len(clip), "content_type": "video/mp4",
            "title": "pinned"}
    grant = client.post("/api/upload/url", json=body, headers=cognito.headers("owner")).json()
    assert httpx.put(grant["upload_url"], content=clip, headers=grant["headers"]).status_code == 200
    return dict(grant)


def _same_size_playlist(path: Path, target: Path, size: int) -> bytes:
    text = hls_playlist(path, target).read_bytes()
    assert len(text) < size
    return text + b"#" * (size - len(text) - 1) + b"\n"  # comment padding: still a playlist


def test_a_playlist_swapped_in_after_confirm_is_never_read(
        client: Any, cognito: Any, clip: bytes, aws_resources: AwsResources,
        clean_database: str, tmp_path: Path) -> None:
    grant = _upload(client, cognito, clip)
    confirmed = client.post("/api/upload/confirm", headers=cognito.headers("owner"),
                            json={"video_id": grant["video_id"], "process": True})
    assert confirmed.status_code == 200, confirmed.text
    # The presigned PUT is still valid: swap in a same-size playlist naming a local file.
    secret = fifo(tmp_path / "secret.ts")
    opened = threading.Event()

    def watch() -> None:
        fd = os.open(secret, os.O_WRONLY)  # returns only once something opens it to read
        opened.set()
        os.close(fd)

    threading.Thread(target=watch, daemon=True).start()
    swap = _same_size_playlist(tmp_path / "swap.m3u8", secret, len(clip))
    assert httpx.put(grant["upload_url"], content=swap, headers=grant["headers"]
                     ).status_code == 200
    stack = Stack(worker_settings(aws_resources, clean_database), aws_resources)
    try:
        assert stack.worker().step() == Outcome.SUCCEEDED
        assert not opened.is_set()
    finally:
        os.close(os.open(secret, os.O_RDONLY | os.O_NONBLOCK))  # release the watcher
    video = stack.video(grant["video_id"])
    assert is_confirmed_key(str(video.source_key))
    pinned = stack.s3.get_object(Bucket=video.source_bucket, Key=video.source_key)["Body"]
    assert pinned.read() == clip  # the confirmed bytes, not the swap
    job = stack.job(confirmed.json()["job_id"])
    (mp4,) = [a for a in stack.assets(job.id) if a.kind == "mp4"]
    local = tmp_path / "out.mp4"
    stack.s3.download_file(mp4.bucket, mp4.key, str(local))
    assert float(probe_streams(local)["format"]["duration"]) == pytest.approx(1.0, abs=0.15)


def test_pinning_refuses_an_object_changed_since_it_was_checked(
        client: Any, cognito: Any, clip: bytes, s3: Any, gallery_settings: Any) -> None:
    grant = _upload(client, cognito, clip)
    video = GalleryVideo(id=grant["video_id"], owner_id="owner", filename="clip.mp4",
                         source_bucket=gallery_settings.uploads_bucket, source_key=grant["key"])
    with pytest.raises(Conflict) as caught:
        source_pin.pin(s3, video, etag='"not-the-etag-confirm-saw"')
    assert caught.value.code == "upload_changed"
