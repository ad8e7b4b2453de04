"""``videoforge up`` as a subprocess, shared by the tests of this folder (one start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.local_stack import RunningStack, launch_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = launch_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()
