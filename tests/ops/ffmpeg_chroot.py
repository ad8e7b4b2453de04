"""Another FFmpeg for the pipeline tests: Debian 13's 7.1 in a debootstrap chroot.

The pipeline runs on this host's Python; only ``ffmpeg``/``ffprobe`` come from the chroot,
through two wrapper scripts put first on ``PATH``. The root (the Debian base that
:mod:`tests.ops.chroot_target` builds, plus the ``ffmpeg`` package) is built once and
cached as a tarball under ``VF_TEST_CACHE_DIR``; each use unpacks a fresh copy, binds the
host paths the pipeline hands to FFmpeg at the same paths inside, and tears it all down.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.ops.chroot_target import (
    CACHE_DIR,
    apt_archives,
    base_tarball,
    chroot_target,
    exclusive,
    mounted,
)

SUITE = "trixie"  # Debian 13: FFmpeg 7.1
PACKAGES = ("ffmpeg",)
_APT_TIMEOUT_S = 1800


def usable() -> str | None:
    """Why the chroot cannot be used here, or None when it can."""
    if os.geteuid() != 0:
        return "chroot and mount need root"
    if shutil.which("debootstrap") is None:
        return "debootstrap not installed"
    return None


def ffmpeg_tarball(suite: str = SUITE) -> Path:
    """The cached root with FFmpeg installed, built on first use (needs the Debian mirror)."""
    key = hashlib.sha256(f"{suite}:{','.join(PACKAGES)}".encode()).hexdigest()[:12]
    tarball = CACHE_DIR / f"ffmpeg-{suite}-{key}.tar"
    with exclusive(f"ffmpeg-{suite}"):
        if not tarball.exists():
            _build(suite, tarball)
    return tarball


def _build(suite: str, tarball: Path) -> None:
    base_tarball(suite)  # built (and locked) by the shared helper first
    work = CACHE_DIR / f"build-ffmpeg-{suite}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with chroot_target(work, suite) as root, mounted(root) as mount:
            mount(["--bind", str(apt_archives(suite))], "var/cache/apt/archives")
            env = ["env", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"]
            for command in (["apt-get", "update", "-q"],
                            ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                             *PACKAGES]):
                done = subprocess.run(["chroot", str(root), *env, *command],
                                      capture_output=True, text=True, check=False,
                                      timeout=_APT_TIMEOUT_S)
                if done.returncode != 0:
                    output = (done.stdout + done.stderr)[-3000:]
                    raise RuntimeError(f"{' '.join(command)} in {suite} failed:\n{output}")
            partial = tarball.with_suffix(".partial")
            # --one-file-system leaves out the mounted proc, dev and apt archives.
            subprocess.run(["tar", "--one-file-system", "-C", str(root), "-cf", str(partial),
                            "."], check=True)
            partial.rename(tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def ffmpeg_in_chroot(workdir: Path, shared: Sequence[Path], suite: str = SUITE
                     ) -> Iterator[dict[str, str]]:
    """Yield environment variables that make ``ffmpeg``/``ffprobe`` the chroot's.

    ``shared`` are host directories FFmpeg will be given paths in (sources, outputs): each
    is bound at the same path inside, so the pipeline's paths mean the same there.
    """
    root = workdir / "ffmpeg-root"
    root.mkdir()
    subprocess.run(["tar", "-C", str(root), "-xf", str(ffmpeg_tarball(suite))], check=True)
    try:
        with mounted(root) as mount:
            mount(["-t", "proc", "proc"], "proc")
            mount(["--bind", "/dev"], "dev")
            for path in shared:
                mount(["--bind", str(path.resolve())], str(path.resolve()).lstrip("/"))
            bin_dir = workdir / "ffmpeg-bin"
            bin_dir.mkdir()
            for tool in ("ffmpeg", "ffprobe"):
                _wrapper(bin_dir / tool, root, tool)
            yield {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


def _wrapper(path: Path, root: Path, tool: str) -> None:
    # chroot(1) starts in "/": the inner shell returns to the caller's directory (bound at
    # the same path) so relative paths keep working. Every step execs: one pid throughout,
    # so the pipeline's resource limits and rusage apply to FFmpeg itself.
    inner = f'cd "$0" 2>/dev/null; exec /usr/bin/{tool} "$@"'
    path.write_text(f"#!/bin/sh\nexec chroot {shlex.quote(str(root))} /bin/sh -c "
                    f"{shlex.quote(inner)} \"$PWD\" \"$@\"\n")
    path.chmod(0o755)


def version(env: dict[str, str]) -> str:
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True).stdout
    return out.split("\n", 1)[0]
