"""A playbook applied for real to a throwaway Debian 12 chroot, the way an image bake
applies it to a build instance (shared by the worker, gateway and control image tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.ops.ansible_run import REPO, run_playbook, tool
from tests.ops.chroot_target import (
    apt_archives,
    apt_lists,
    chroot_target,
    exclusive,
    mounted,
    wheelhouse,
)

# An image test's marks: slow, a bake's time, and what a chroot needs.
IMAGE_TEST_MARKS = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(os.geteuid() != 0, reason="chroot and mount need root"),
    pytest.mark.skipif(shutil.which("debootstrap") is None, reason="debootstrap not installed"),
]


@contextmanager
def baked_image(playbook: Path, tmp: Path, *, extra_vars: dict[str, Any] | None = None
                ) -> Iterator[Path]:
    """The chroot's root once ``playbook`` has run there with this checkout's wheel."""
    dist = tmp / "dist"
    subprocess.run([tool("pip"), "wheel", "--quiet", "--no-deps", "-w", str(dist), str(REPO)],
                   check=True, capture_output=True)
    (wheel,) = dist.glob("videoforge-*.whl")
    # One image build at a time on this machine: they share the apt and wheel caches.
    with exclusive("worker-image"), chroot_target(tmp) as root:
        with mounted(root) as mount:
            # Repeat runs reuse downloaded .debs and package lists, and install Python
            # dependencies from a cached wheelhouse (built from PyPI on the first run).
            mount(["--bind", str(apt_archives())], "var/cache/apt/archives")
            mount(["--bind", str(apt_lists(root))], "var/lib/apt/lists")
            mount(["--bind", str(wheelhouse(root, wheel))], "mnt/wheelhouse")
            run_playbook(
                playbook, tmp=tmp,
                inventory=(
                    f"target ansible_connection=community.general.chroot ansible_host={root} "
                    "ansible_python_interpreter=/usr/bin/python3 ansible_become=false\n"),
                extra_vars={
                    "app_wheel_dir": str(dist),
                    "app_pip_extra_args": "--no-index --find-links /mnt/wheelhouse",
                    # Bytecode compilation is most of pip's time, and not under test here.
                    "app_pip_compile": False,
                    **(extra_vars or {}),
                },
                timeout=800,
            )
        yield root


def in_root(root: Path, *command: str, user: str | None = None) -> str:
    spec = [f"--userspec={user}:{user}"] if user else []
    result = subprocess.run(
        ["chroot", *spec, str(root), *command], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings
