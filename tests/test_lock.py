"""The lock files agree with pyproject.toml and with this environment, so what CI tested is
what a fresh machine installs (`make lock` rewrites them; README "Dependencies")."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK, WORKER_LOCK = ROOT / "requirements.lock", ROOT / "requirements-worker.lock"
_ENTRY = re.compile(r"^(?P<req>[A-Za-z0-9][^\\\n]*?)\s*\\\n(?P<hashes>(?:\s+--hash=\S+\s*\\?\n?)+)",
                    re.MULTILINE)


def locked(path: Path) -> dict[str, list[Requirement]]:
    """Package name → its pinned entries (one per marker fork) in a uv lock file."""
    text = path.read_text()
    entries: dict[str, list[Requirement]] = {}
    for match in _ENTRY.finditer(text):
        req = Requirement(match["req"])
        entries.setdefault(canonicalize_name(req.name), []).append(req)
    pins = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9].*==", line)]
    assert len(pins) == sum(map(len, entries.values())), "an entry without --hash lines"
    return entries


def here(entries: list[Requirement]) -> list[str]:
    """The pinned versions that apply to this interpreter and platform."""
    return [next(iter(r.specifier)).version for r in entries
            if r.marker is None or r.marker.evaluate()]


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in extras:
        names += project["optional-dependencies"][extra]
    return [Requirement(n) for n in names]


@pytest.mark.parametrize(("lock", "extras"), [(LOCK, ("dev", "local")), (WORKER_LOCK, ())],
                         ids=["full", "worker"])
def test_every_declared_dependency_is_pinned_within_its_floor(lock: Path,
                                                              extras: tuple[str, ...]) -> None:
    pins = locked(lock)
    for req in declared(*extras):
        if req.marker is not None and not req.marker.evaluate():
            continue
        versions = here(pins.get(canonicalize_name(req.name), []))
        assert versions, f"{req.name} is not in {lock.name}: run `make lock`"
        assert all(req.specifier.contains(v, prereleases=True) for v in versions), (
            f"{lock.name} pins {req.name}=={versions[0]} outside {req}: run `make lock`")


def test_the_worker_lock_is_the_full_lock_at_the_same_versions() -> None:
    full, worker = locked(LOCK), locked(WORKER_LOCK)
    for name, entries in worker.items():
        assert set(here(entries)) <= set(here(full.get(name, []))), name


def test_this_environment_is_the_lock() -> None:
    """The tests ran on exactly the locked versions (`make` installs them)."""
    wrong = {}
    for name, entries in locked(LOCK).items():
        for version in here(entries):
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                installed = None
            if installed != version:
                wrong[name] = (installed, version)
    assert not wrong, f"installed ≠ locked (run `make .venv/.installed`): {wrong}"
