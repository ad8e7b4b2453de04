"""Where the local object store keeps things: object bytes as files under ``blobs/``,
everything else (buckets, their configuration, object metadata, multipart uploads) in
one SQLite database beside them.

A write lands in ``tmp/`` first, is flushed to disk, then renamed into ``blobs/`` and
recorded in one transaction; the blob it replaces is removed after the commit. So a
crash leaves either the old object or the new one, never half of either; a blob the
database does not know (a crash between rename and commit) is removed at the next start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS bucket_configs (
    bucket TEXT NOT NULL REFERENCES buckets(name) ON DELETE CASCADE,
    kind TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (bucket, kind));
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL REFERENCES buckets(name) ON DELETE CASCADE,
    key TEXT NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    headers TEXT NOT NULL, modified REAL NOT NULL, PRIMARY KEY (bucket, key));
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, bucket TEXT NOT NULL REFERENCES buckets(name) ON DELETE CASCADE,
    key TEXT NOT NULL, headers TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    number INTEGER NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, modified REAL NOT NULL, PRIMARY KEY (upload_id, number));
"""
_COPY_CHUNK = 1024 * 1024


class StoreError(Exception):
    """An S3 error: ``code`` and HTTP ``status`` as S3 answers them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def no_such_bucket() -> StoreError:
    return StoreError(404, "NoSuchBucket", "The specified bucket does not exist")


def no_such_key() -> StoreError:
    return StoreError(404, "NoSuchKey", "The specified key does not exist.")


def no_such_upload() -> StoreError:
    return StoreError(404, "NoSuchUpload", "The specified multipart upload does not exist.")


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str                       # quoted, as S3 sends it
    modified: float
    headers: dict[str, str] = field(default_factory=dict)  # content-type, x-amz-meta-*, …
    path: Path | None = None


@dataclass(frozen=True)
class PartInfo:
    number: int
    size: int
    etag: str
    modified: float


@dataclass(frozen=True)
class Staged:
    """Bytes written to ``tmp/`` and flushed, not yet part of any object."""

    path: Path
    size: int
    md5: bytes


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.tmp = root / "tmp"
        for folder in (self.blobs, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(root / "objects.db", check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._sweep()

    # --- plumbing ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args))

    def _sweep(self) -> None:
        """Drop what a crash left: staged files, and blobs no row refers to."""
        for path in self.tmp.iterdir():
            path.unlink(missing_ok=True)
        known = {row[0] for row in self._rows("SELECT blob FROM objects UNION "
                                              "SELECT blob FROM parts")}
        for path in self.blobs.rglob("*"):
            if path.is_file() and path.relative_to(self.blobs).as_posix() not in known:
                path.unlink(missing_ok=True)

    def blob_path(self, blob: str) -> Path:
        return self.blobs / blob

    def _adopt(self, staged: Staged) -> str:
        """Move a staged file into ``blobs/``; returns its name there."""
        name = uuid.uuid4().hex
        blob = f"{name[:2]}/{name}"
        target = self.blob_path(blob)
        target.parent.mkdir(exist_ok=True)
        os.replace(staged.path, target)
        return blob

    def _drop(self, *blobs: str) -> None:
        for blob in blobs:
            self.blob_path(blob).unlink(missing_ok=True)

    def stage(self) -> tuple[Path, IO[bytes]]:
        path = self.tmp / uuid.uuid4().hex
        return path, path.open("wb")

    def discard(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    # --- buckets -----------------------------------------------------------------------
    def create_bucket(self, name: str) -> bool:
        """True when created; False when it already existed."""
        with self._tx() as db:
            cursor = db.execute("INSERT OR IGNORE INTO buckets VALUES (?, ?)",
                                (name, time.time()))
            return cursor.rowcount == 1

    def buckets(self) -> list[tuple[str, float]]:
        return [(r[0], r[1]) for r in self._rows("SELECT name, created FROM buckets "
                                                 "ORDER BY name")]

    def require_bucket(self, name: str) -> None:
        if not self._rows("SELECT 1 FROM buckets WHERE name = ?", name):
            raise no_such_bucket()

    def delete_bucket(self, name: str) -> None:
        self.require_bucket(name)
        with self._tx() as db:
            if db.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone():
                raise StoreError(409, "BucketNotEmpty",
                                 "The bucket you tried to delete is not empty")
            db.execute("DELETE FROM buckets WHERE name = ?", (name,))

    def config(self, bucket: str, kind: str) -> bytes | None:
        self.require_bucket(bucket)
        rows = self._rows("SELECT body FROM bucket_configs WHERE bucket = ? AND kind = ?",
                          bucket, kind)
        return bytes(rows[0][0]) if rows else None

    def set_config(self, bucket: str, kind: str, body: bytes | None) -> None:
        self.require_bucket(bucket)
        with self._tx() as db:
            db.execute("DELETE FROM bucket_configs WHERE bucket = ? AND kind = ?", (bucket, kind))
            if body is not None:
                db.execute("INSERT INTO bucket_configs VALUES (?, ?, ?)", (bucket, kind, body))

    # --- objects -----------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectInfo:
        self.require_bucket(bucket)
        rows = self._rows("SELECT blob, size, etag, headers, modified FROM objects "
                          "WHERE bucket = ? AND key = ?", bucket, key)
        if not rows:
            raise no_such_key()
        blob, size, etag, headers, modified = rows[0]
        return ObjectInfo(bucket, key, size, etag, modified, json.loads(headers),
                          self.blob_path(blob))

    def put(self, bucket: str, key: str, staged: Staged, headers: dict[str, str],
            *, etag: str | None = None) -> ObjectInfo:
        self.require_bucket(bucket)
        etag = etag or f'"{staged.md5.hex()}"'
        blob = self._adopt(staged)
        modified = time.time()
        with self._tx() as db:
            old = db.execute("SELECT blob FROM objects WHERE bucket = ? AND key = ?",
                             (bucket, key)).fetchone()
            db.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (bucket, key, blob, staged.size, etag, json.dumps(headers), modified))
        if old:
            self._drop(old[0])
        return ObjectInfo(bucket, key, staged.size, etag, modified, headers,
                          self.blob_path(blob))

    def delete(self, bucket: str, key: str) -> None:
        self.require_bucket(bucket)
        with self._tx() as db:
            old = db.execute("SELECT blob FROM objects WHERE bucket = ? AND key = ?",
                             (bucket, key)).fetchone()
            db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
        if old:
            self._drop(old[0])

    def list_objects(self, bucket: str, *, prefix: str, after: str, limit: int
             ) -> list[ObjectInfo]:
        """Objects under ``prefix`` with keys after ``after``, in key order (S3's UTF-8
        binary order: SQLite compares TEXT with memcmp)."""
        self.require_bucket(bucket)
        rows = self._rows(
            "SELECT key, size, etag, headers, modified FROM objects WHERE bucket = ? "
            "AND key > ? AND substr(key, 1, ?) = ? ORDER BY key LIMIT ?",
            bucket, after, len(prefix), prefix, limit)
        return [ObjectInfo(bucket, k, s, e, m, json.loads(h)) for k, s, e, h, m in rows]

    def copy_into_stage(self, source: ObjectInfo, first: int = 0, last: int | None = None
                        ) -> Staged:
        """A staged copy of ``source`` (or of bytes ``first..last`` of it)."""
        assert source.path is not None
        last = source.size - 1 if last is None else last
        path, out = self.stage()
        md5 = hashlib.md5(usedforsecurity=False)
        with out, source.path.open("rb") as src:
            src.seek(first)
            remaining = last - first + 1
            while remaining > 0:
                chunk = src.read(min(_COPY_CHUNK, remaining))
                if not chunk:
                    break
                out.write(chunk)
                md5.update(chunk)
                remaining -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return Staged(path, last - first + 1, md5.digest())

    # --- multipart ---------------------------------------------------------------------
    def create_upload(self, bucket: str, key: str, headers: dict[str, str]) -> str:
        self.require_bucket(bucket)
        upload_id = uuid.uuid4().hex
        with self._tx() as db:
            db.execute("INSERT INTO uploads VALUES (?, ?, ?, ?, ?)",
                       (upload_id, bucket, key, json.dumps(headers), time.time()))
        return upload_id

    def uploads(self, bucket: str, *, prefix: str, after: tuple[str, str], limit: int
                ) -> list[tuple[str, str, float]]:
        """Open uploads ``(key, id, created)`` under ``prefix`` past ``after`` (key, id)."""
        self.require_bucket(bucket)
        key, upload_id = after
        rows = self._rows(
            "SELECT key, id, created FROM uploads WHERE bucket = ? AND substr(key, 1, ?) = ? "
            "AND (key > ? OR (key = ? AND id > ?)) ORDER BY key, id LIMIT ?",
            bucket, len(prefix), prefix, key, key, upload_id, limit)
        return [(str(k), str(i), float(c)) for k, i, c in rows]

    def upload(self, bucket: str, key: str, upload_id: str) -> dict[str, str]:
        self.require_bucket(bucket)
        rows = self._rows("SELECT headers FROM uploads WHERE id = ? AND bucket = ? AND key = ?",
                          upload_id, bucket, key)
        if not rows:
            raise no_such_upload()
        return dict(json.loads(rows[0][0]))

    def put_part(self, bucket: str, key: str, upload_id: str, number: int,
                 staged: Staged) -> PartInfo:
        self.upload(bucket, key, upload_id)
        blob = self._adopt(staged)
        part = PartInfo(number, staged.size, f'"{staged.md5.hex()}"', time.time())
        with self._tx() as db:
            old = db.execute("SELECT blob FROM parts WHERE upload_id = ? AND number = ?",
                             (upload_id, number)).fetchone()
            db.execute("INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?, ?, ?)",
                       (upload_id, number, blob, part.size, part.etag, part.modified))
        if old:
            self._drop(old[0])
        return part

    def parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self.upload(bucket, key, upload_id)
        rows = self._rows("SELECT number, size, etag, modified FROM parts "
                          "WHERE upload_id = ? ORDER BY number", upload_id)
        return [PartInfo(*row) for row in rows]

    def _part_blobs(self, upload_id: str) -> dict[int, str]:
        return {n: b for n, b in self._rows("SELECT number, blob FROM parts "
                                            "WHERE upload_id = ?", upload_id)}

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self.upload(bucket, key, upload_id)
        blobs = self._part_blobs(upload_id)
        with self._tx() as db:
            db.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
        self._drop(*blobs.values())

    def complete_upload(self, bucket: str, key: str, upload_id: str,
                        chosen: list[PartInfo]) -> ObjectInfo:
        """Join ``chosen`` (already checked against :meth:`parts`) into the object."""
        headers = self.upload(bucket, key, upload_id)
        blobs = self._part_blobs(upload_id)
        path, out = self.stage()
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with out:
            for part in chosen:
                with self.blob_path(blobs[part.number]).open("rb") as src:
                    while chunk := src.read(_COPY_CHUNK):
                        out.write(chunk)
                        size += len(chunk)
                digest.update(bytes.fromhex(part.etag.strip('"')))
            out.flush()
            os.fsync(out.fileno())
        # S3's multipart ETag: the MD5 of the parts' binary MD5s, then "-" and the count.
        etag = f'"{digest.hexdigest()}-{len(chosen)}"'
        info = self.put(bucket, key, Staged(path, size, b""), headers, etag=etag)
        with self._tx() as db:
            db.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
        self._drop(*blobs.values())
        return info

    def close(self) -> None:
        with self._lock:
            self._db.close()
