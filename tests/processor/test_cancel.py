"""Cancelling stops FFmpeg; FFmpeg failures carry their stderr."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from processor.errors import Cancelled, TranscodeError
from processor.ffmpeg import run_ffmpeg
from processor.progress import Progress
from processor.transcode import transcode
from tests.support.transcoding import FAST

Clip = Callable[[str], Path]


def ffmpeg_children() -> list[int]:
    """FFmpeg processes whose parent is this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("Name", "").strip() == "ffmpeg" and int(fields["PPid"]) == os.getpid():
            found.append(int(entry.name))
    return found


@pytest.mark.timeout(30)
def test_cancel_stops_an_ffmpeg_that_would_run_forever() -> None:
    cancel = threading.Event()
    events: list[Progress] = []

    def on_progress(p: Progress) -> None:
        events.append(p)
        cancel.set()

    endless = ["-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-f", "null", "-"]
    with pytest.raises(Cancelled):
        run_ffmpeg(endless, duration_s=60, on_progress=on_progress, cancel=cancel)
    assert events and ffmpeg_children() == []


def test_cancel_during_a_transcode_raises_cancelled(clip: Clip, tmp_path: Path) -> None:
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        transcode(clip("ladder"), tmp_path, settings=FAST, on_progress=lambda _: cancel.set(),
                  cancel=cancel)
    assert not (tmp_path / "manifest.json").exists()
    assert ffmpeg_children() == []


def test_a_cancel_set_before_the_start_runs_nothing(clip: Clip, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        transcode(clip("small"), tmp_path, settings=FAST, cancel=cancel)
    assert not list(tmp_path.glob("*.mp4"))


def test_ffmpeg_failure_carries_the_stderr_tail(tmp_path: Path) -> None:
    with pytest.raises(TranscodeError) as caught:
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])
    assert "missing.mp4" in caught.value.stderr_tail
