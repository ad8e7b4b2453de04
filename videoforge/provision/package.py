"""The Lambda deployment package: gallery and streaming (and ``common``) with their
dependencies, zipped reproducibly.

Same inputs, same bytes: entries sorted, every timestamp the ZIP epoch (1980-01-01),
permissions fixed (0644), one compression level, no bytecode caches and no install
records (which name paths and installers). So an unchanged deploy has the same
SHA-256 as the function's code, and ``videoforge deploy lambdas`` can tell.

The dependencies are the project's own requirements, resolved through the installed
distributions' metadata, less what a Lambda function does not run: the AWS SDK (the Lambda
Python runtime ships boto3), the ASGI server and its accelerators, the CLI's terminal
output, FFmpeg bindings, migrations and the HTTP client of the gateway's proxy. The build
uses the environment it runs in, so it must be the Lambda runtime's platform (Linux
x86_64, the same CPython minor version): the Python version becomes the runtime.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import io
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "videoforge"
# The packages of this repository a function imports (none imports another service).
SOURCE_PACKAGES = ("common", "gallery", "streaming")
# Distributions a function does not need, with their own dependencies.
EXCLUDED = frozenset(canonicalize_name(n) for n in (
    "boto3", "botocore", "s3transfer", "jmespath",      # the Lambda runtime provides them
    "uvicorn", "uvloop", "httptools",                   # API Gateway is the server
    "rich", "ffmpeg-python", "alembic", "httpx",        # CLI, worker, migrations, proxy
))
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16   # a regular file, rw-r--r--
_COMPRESSION = 6
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_SKIPPED_RECORDS = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def runtime() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _requirements(name: str, extras: frozenset[str]) -> list[Requirement]:
    found = []
    environment = {key: str(value) for key, value in default_environment().items()}
    for text in metadata.requires(name) or []:
        requirement = Requirement(text)
        wanted = not requirement.marker or any(
            requirement.marker.evaluate({**environment, "extra": extra})
            for extra in (extras or {""}))
        if wanted:
            found.append(requirement)
    return found


def dependency_closure() -> list[str]:
    """The installed distributions the functions need, by canonical name, sorted."""
    seen: set[str] = set()
    todo = [(canonicalize_name(r.name), frozenset(r.extras))
            for r in _requirements(PROJECT, frozenset())]
    while todo:
        name, extras = todo.pop()
        if name in EXCLUDED or (name in seen and not extras):
            continue
        seen.add(name)
        todo += [(canonicalize_name(r.name), frozenset(r.extras))
                 for r in _requirements(name, extras)]
    return sorted(seen)


def _distribution_files(name: str) -> Iterator[tuple[str, Path]]:
    dist = metadata.distribution(name)
    for file in dist.files or []:
        path = PurePosixPath(str(file))
        if ".." in path.parts or path.parts[0] in ("bin", "__pycache__"):
            continue  # scripts and files outside site-packages
        if "__pycache__" in path.parts or path.suffix in _SKIPPED_SUFFIXES:
            continue
        if path.parent.name.endswith(".dist-info") and path.name in _SKIPPED_RECORDS:
            continue
        source = Path(str(dist.locate_file(file)))
        if source.is_file():
            yield str(path), source


def _source_files(root: Path) -> Iterator[tuple[str, Path]]:
    for package in SOURCE_PACKAGES:
        for source in (root / package).rglob("*"):
            relative = source.relative_to(root)
            if source.is_file() and "__pycache__" not in relative.parts \
                    and source.suffix not in _SKIPPED_SUFFIXES:
                yield relative.as_posix(), source


@dataclass(frozen=True)
class Package:
    data: bytes
    distributions: tuple[str, ...]
    files: int

    @property
    def sha256(self) -> str:
        """As Lambda reports ``CodeSha256``: base64 of the SHA-256 digest."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()


def build(root: Path = ROOT) -> Package:
    entries: dict[str, Path] = dict(_source_files(root))
    distributions = tuple(dependency_closure())
    for name in distributions:
        for arcname, source in _distribution_files(name):
            entries.setdefault(arcname, source)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED,
                         compresslevel=_COMPRESSION) as archive:
        for arcname in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_EPOCH)
            info.external_attr = _FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever builds it
            archive.writestr(info, entries[arcname].read_bytes(), compresslevel=_COMPRESSION)
    return Package(buffer.getvalue(), distributions, len(entries))
