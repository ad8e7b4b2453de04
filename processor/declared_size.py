"""The length in bytes a container says it has.

An AVI's RIFF chunk, an ASF file's properties object and an FLV's onMetaData ``filesize``
give the size the writer finished with. An Ogg file's pages and an MPEG program stream's
packs each declare their own length, so the last one says where the file ends
(``tail_units.py``); raw DV is whole DIF sequences. A copy cut short still opens and
plays up to the cut: FFmpeg only shortens the duration it reports (and says so at debug
level, or not at all), so intake reads the size itself, and a file that ends before it is
truncated, like an MP4 whose index points past its end.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from processor.tail_units import ogg_end, program_stream_end

# The headers sit at the very start; an ASF header's objects before the file properties
# (if any) are small.
_HEAD_BYTES = 64 * 1024
_ASF_FILE_PROPERTIES = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")
_ASF_BROADCAST = 0x1  # "file size and duration are invalid": a live stream's capture
# In the onMetaData script tag (AMF0): the key "filesize" (a 2-byte length, then the name),
# then a Number (type 0) of 8 bytes, big-endian. Writers that cannot seek back leave it 0.
_FLV_FILESIZE = b"\x00\x08filesize\x00"
# Raw DV is a run of DIF sequences of 150 blocks of 80 bytes each (IEC 61834-2, and SMPTE
# 314M for DV50): 10 or 12 of them a frame, times its channels. A cut almost always falls
# inside one (one in 12000 lands on a boundary). A clean file starts with the header block
# of sequence 0; FFmpeg also plays one with bytes before it, which this rule cannot count.
_DIF_SEQUENCE = 150 * 80
_DIF_HEADER = b"\x1f\x07\x00"


class Declared(NamedTuple):
    size: int  # bytes
    by: str    # what declares them, for a person: "its RIFF header declares"


def declared_size(path: Path, container: str, size: int) -> Declared | None:
    """The bytes the file says it holds (``size`` is what it holds); None when it says
    nothing usable."""
    known = _MEASURES.get(container)
    if known is None:
        return None
    measure, by = known
    declared = measure(path, size)
    return None if declared is None else Declared(declared, by)


def _in_head(reader: Callable[[bytes], int | None]) -> Callable[[Path, int], int | None]:
    """A measure from a header at the file's start."""
    def measure(path: Path, _size: int) -> int | None:
        with path.open("rb") as f:
            return reader(f.read(_HEAD_BYTES))
    return measure


def _whole_dif_sequences(path: Path, size: int) -> int | None:
    with path.open("rb") as f:
        if f.read(len(_DIF_HEADER)) != _DIF_HEADER:
            return None
    return -(-size // _DIF_SEQUENCE) * _DIF_SEQUENCE


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


def _flv(head: bytes) -> int | None:
    at = head.find(_FLV_FILESIZE)
    if head[:3] != b"FLV" or at < 0 or len(head) < at + len(_FLV_FILESIZE) + 8:
        return None
    size = float(struct.unpack_from(">d", head, at + len(_FLV_FILESIZE))[0])
    return int(size) if 0 < size < 2**53 else None


# container -> (its measure, what declares the size). AVI, ASF and FLV say it in a header
# at the start; Ogg and MPEG-PS in their last unit, so those read the tail; DV by its size.
_MEASURES: dict[str, tuple[Callable[[Path, int], int | None], str]] = {
    "avi": (_in_head(_riff), "its RIFF header declares"),
    "asf": (_in_head(_asf), "its file properties declare"),
    "flv": (_in_head(_flv), "its onMetaData declares"),
    "ogg": (ogg_end, "its last Ogg page declares"),
    "mpeg": (program_stream_end, "its last pack declares"),
    "dv": (_whole_dif_sequences, "its last DIF sequence needs"),
}
