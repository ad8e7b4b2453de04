"""``videoforge up`` as a subprocess, shared by the tests of this folder (one start).

No test stops the shared stack (test_restart.py checks Ctrl-C on one of its own), so the
files here run in any order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.local_stack import RunningStack, launch_stack, processes_with


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = launch_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()
    if processes_with(running.marker):  # nothing may outlive the folder's tests
        running.kill()
