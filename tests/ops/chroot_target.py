"""A throwaway Debian machine for applying playbooks: a debootstrap chroot.

The base filesystem is built once per suite and cached as a tarball under
``VF_TEST_CACHE_DIR`` (default /var/cache/videoforge-test); every test run unpacks a fresh
copy, mounts what apt and dpkg need, and unmounts everything again, even on failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pip

CACHE_DIR = Path(os.environ.get("VF_TEST_CACHE_DIR", "/var/cache/videoforge-test"))
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What every cloud image already has: an init system, and Python for Ansible.
BASE_PACKAGES = ("systemd-sysv", "python3", "python3-apt", "ca-certificates")
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def debian_mirror() -> str:
    """The Debian mirror this host's apt uses (deb822 or one-line sources)."""
    sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in sources:
        for uri in re.findall(r"^URIs:\s*(\S+)", path.read_text(), re.M):
            if uri.rstrip("/").endswith("/debian"):
                return uri
    one_line = Path("/etc/apt/sources.list")
    if one_line.exists():
        for uri in re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", one_line.read_text(), re.M):
            if uri.rstrip("/").endswith("/debian"):
                return uri
    return DEFAULT_MIRROR


def base_tarball(suite: str) -> Path:
    """The cached debootstrap tarball for ``suite``, built on first use."""
    key = hashlib.sha256(f"{suite}:{','.join(BASE_PACKAGES)}".encode()).hexdigest()[:12]
    tarball = CACHE_DIR / f"debootstrap-{suite}-{key}.tar"
    with exclusive("debootstrap"):
        if not tarball.exists():
            _build_tarball(suite, tarball)
    return tarball


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold a lock under CACHE_DIR: test runs on one machine share its caches."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build_tarball(suite: str, tarball: Path) -> None:
    build = CACHE_DIR / f"build-{suite}"
    _remove_tree(build)
    try:
        include = ",".join(BASE_PACKAGES)
        built = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={include}",
                suite,
                str(build),
                debian_mirror(),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if built.returncode != 0:
            output = (built.stdout + built.stderr)[-3000:]
            raise RuntimeError(f"debootstrap {suite} failed:\n{output}")
        subprocess.run(["chroot", str(build), "apt-get", "clean"], check=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(build), "-cf", str(partial), "."], check=True)
        partial.rename(tarball)
        _prune(f"debootstrap-{suite}-*.tar", keep=tarball)
    finally:
        _remove_tree(build)


@contextlib.contextmanager
def chroot_target(workdir: Path, suite: str = "bookworm") -> Iterator[Path]:
    """Unpack a fresh ``suite`` root under ``workdir``; yield its path; tear it all down."""
    root = workdir / "root"
    root.mkdir()
    subprocess.run(["tar", "-C", str(root), "-xf", str(base_tarball(suite))], check=True)
    _prepare(root)
    try:
        with mounted(root) as mount:
            mount(["-t", "proc", "proc"], "proc")
            mount(["--bind", "/dev"], "dev")
            yield root
    finally:
        _remove_tree(root)


@contextlib.contextmanager
def mounted(root: Path) -> Iterator[Callable[[list[str], str], Path]]:
    """Yield ``mount(args, path_in_root)``; everything mounted is unmounted on exit."""
    mounts: list[Path] = []

    def mount(args: list[str], path: str) -> Path:
        target = root / path
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", *args, str(target)], check=True)
        mounts.append(target)
        return target

    try:
        yield mount
    finally:
        for target in reversed(mounts):
            if subprocess.run(["umount", str(target)], check=False).returncode != 0:
                subprocess.run(["umount", "--lazy", str(target)], check=False)


def apt_archives(suite: str = "bookworm") -> Path:
    """A lasting home for downloaded .debs: bind it over a root's var/cache/apt/archives."""
    path = CACHE_DIR / "apt-archives" / suite
    path.mkdir(parents=True, exist_ok=True)
    return path


def apt_lists(root: Path, suite: str = "bookworm") -> Path:
    """A lasting home for apt's package lists, seeded from ``root``'s: bound over a root's
    var/lib/apt/lists, a bake's ``apt update`` refreshes them instead of downloading them
    all again (and is skipped within the roles' cache_valid_time)."""
    path = CACHE_DIR / "apt-lists" / suite
    if not path.is_dir():
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        # -a keeps the directory's old mtime: the first bake's apt update still runs.
        subprocess.run(["cp", "-a", str(root / "var/lib/apt/lists"), str(partial)], check=True)
        partial.rename(path)
    return path


def wheelhouse(root: Path, wheel: Path, suite: str = "bookworm") -> Path:
    """Wheels of everything ``wheel`` depends on, resolved by the chroot's own Python.

    Built once per dependency list (online, with this host's pip run by the chroot's
    Python so environment markers match) and cached, so repeat runs install offline.
    """
    requires = _requires_dist(wheel)
    key = hashlib.sha256(f"{suite}:{requires}".encode()).hexdigest()[:12]
    target = CACHE_DIR / f"wheelhouse-{suite}-{key}"
    if target.is_dir():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = ["python3", "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
    command += ["--no-cache-dir", "-w", "/mnt/wheelhouse", f"/mnt/dist/{wheel.name}"]
    with mounted(root) as mount:
        mount(["--bind", str(Path(pip.__file__).parent)], "mnt/pip-tool/pip")
        mount(["--bind", str(wheel.parent)], "mnt/dist")
        mount(["--bind", str(partial)], "mnt/wheelhouse")
        built = subprocess.run(
            ["chroot", str(root), "env", "PYTHONPATH=/mnt/pip-tool", *command],
            capture_output=True,
            text=True,
            env=_clean_env(),
            check=False,
        )
    if built.returncode != 0:
        raise RuntimeError(f"building the wheelhouse failed:\n{built.stderr[-3000:]}")
    (partial / wheel.name).unlink(missing_ok=True)
    partial.rename(target)
    _prune(f"wheelhouse-{suite}-*", keep=target)
    return target


def _prune(pattern: str, keep: Path) -> None:
    """Drop cache entries that ``keep`` replaces (older dependency lists, base packages)."""
    for stale in CACHE_DIR.glob(pattern):
        if stale != keep and not stale.name.endswith(".partial"):
            subprocess.run(["rm", "-rf", str(stale)], check=False)


def _requires_dist(wheel: Path) -> str:
    """What installing ``wheel`` pulls in: its extras' (dev tools) change no wheelhouse."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(metadata).decode().splitlines()
    return "\n".join(sorted(line for line in lines if line.startswith("Requires-Dist:")
                            and "extra ==" not in line))


def _clean_env() -> dict[str, str]:
    # The host's pip settings name paths that do not exist in the chroot.
    return {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}


def _prepare(root: Path) -> None:
    """Make the root behave like a fresh machine on this network, with no daemons."""
    for name in ("resolv.conf", "hosts"):
        shutil.copyfile(f"/etc/{name}", root / "etc" / name)
    _trust_host_certificates(root)
    # Package scripts must not start services inside the chroot (Debian's policy-rc.d).
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)


def _trust_host_certificates(root: Path) -> None:
    """Add the CAs this host trusts beyond Debian's (e.g. a TLS-inspecting proxy)."""
    bundle = "etc/ssl/certs/ca-certificates.crt"
    host = _PEM.findall(Path("/", bundle).read_text())
    known = set(_PEM.findall((root / bundle).read_text()))
    extra = [cert for cert in host if cert not in known]
    for number, cert in enumerate(extra):
        path = root / "usr/local/share/ca-certificates" / f"build-host-{number}.crt"
        path.write_text(cert + "\n")
    if extra:
        subprocess.run(
            ["chroot", str(root), "update-ca-certificates"], check=True, capture_output=True
        )


def _remove_tree(path: Path) -> None:
    """Delete a root, but never through a mount (a bind-mounted /dev, a cache)."""
    for target in sorted(_mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", target], check=False)
    if _mounts_under(path):
        raise RuntimeError(f"{path} still has mounts; not deleting it")
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()) + "/"
    with open("/proc/mounts") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
