"""The length in bytes a container says it has, for those that say it up front.

An AVI's RIFF chunk and an ASF file's properties object give the size the writer finished
with. A copy cut short still opens and plays up to the cut: FFmpeg only shortens the
duration it reports (and says so at debug level), so intake reads the size itself, and a
file that ends before it is truncated, like an MP4 whose index points past its end.
"""

from __future__ import annotations

import struct
from pathlib import Path

# Both headers sit at the very start; an ASF header's objects before the file properties
# (if any) are small.
_HEAD_BYTES = 64 * 1024
_ASF_FILE_PROPERTIES = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")
_ASF_BROADCAST = 0x1  # "file size and duration are invalid": a live stream's capture


def declared_size(path: Path, container: str) -> int | None:
    """Bytes the file's own header says it holds; None when it says nothing usable."""
    if container not in ("avi", "asf"):
        return None
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    return _riff(head) if container == "avi" else _asf(head)


def _riff(head: bytes) -> int | None:
    if len(head) < 12 or head[:4] != b"RIFF":
        return None
    size = int(struct.unpack_from("<I", head, 4)[0])
    # 0 and all ones are placeholders a recorder leaves when it never finished (or wrote
    # to a pipe): no size was declared.
    return size + 8 if 0 < size < 0xFFFFFFFF else None


def _asf(head: bytes) -> int | None:
    at = head.find(_ASF_FILE_PROPERTIES)
    if at < 0 or len(head) < at + 92:
        return None
    file_size = int(struct.unpack_from("<Q", head, at + 40)[0])
    flags = int(struct.unpack_from("<I", head, at + 88)[0])
    return file_size if file_size > 0 and not flags & _ASF_BROADCAST else None
