"""Source clips for the transcoder and worker tests, each generated once per session on
first use, and the real parts a worker talks to."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.aws_resources import AwsResources
from tests.support.clips import RECIPES
from tests.support.source_kinds import KINDS
from tests.support.worker import Stack, make_long_clip, worker_settings

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
