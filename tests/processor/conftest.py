"""Source clips for the transcoder and worker tests, each generated once per session on
first use, and the real parts a worker talks to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.aws_resources import AwsResources
from tests.support.clips import RECIPES
from tests.support.source_kinds import KINDS
from tests.support.worker import FAST_ENV, Stack, make_long_clip, worker_settings

REPO = Path(__file__).resolve().parents[2]

# Every transcode in the tests uses the cheapest x264 preset.
os.environ.setdefault("VF_X264_PRESET", "ultrafast")


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``clip("vfr")`` → path of that source clip, made on first use."""
    root = tmp_path_factory.mktemp("clips")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            filename, maker = (RECIPES | KINDS)[name]
            made[name] = maker(root / filename)
        return made[name]

    return get


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Slow to encode at a slow preset: time to interfere with a job mid-way."""
    return make_long_clip(tmp_path_factory.mktemp("sources") / "long.mp4")


@pytest.fixture
def stack(aws_resources: AwsResources, clean_database: str) -> Stack:
    return Stack(worker_settings(aws_resources, clean_database), aws_resources)


@pytest.fixture
def spawn(settings_env: dict[str, str],
          tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``videoforge worker`` processes (each in its own process group); any still
    running at the end are killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        full_env = {**os.environ, **settings_env, **FAST_ENV, "PYTHONPATH": str(REPO),
                    "VF_WORKER_ID": name, **env}
        log = (tmp_path / f"{name}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "videoforge", "worker", *args],
                                cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
