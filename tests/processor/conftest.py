"""Source clips for the transcoder tests, each generated once per session on first use."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.clips import RECIPES

# Every transcode in the tests uses the cheapest x264 preset.
os.environ.setdefault("VF_X264_PRESET", "ultrafast")


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``clip("vfr")`` → path of that source clip, made on first use."""
    root = tmp_path_factory.mktemp("clips")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            filename, maker = RECIPES[name]
            made[name] = maker(root / filename)
        return made[name]

    return get
