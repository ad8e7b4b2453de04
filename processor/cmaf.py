"""CMAF files: one fragmented MP4 per quality, both the progressive download and the HLS
variant (through byte ranges).

FFmpeg writes them in the encode run with ``MUXER_ARGS``: ``ftyp`` + an empty ``moov`` (the
init segment), a global segment index (``sidx``, one per track) right after it, then one
fragment (``moof`` + ``mdat``) per video GOP with the audio of the same span muxed in. A
browser's ``<video>`` plays such a file from its URL and seeks through the ``sidx``; an HLS
player reads the same bytes through the ranges :func:`read_index` finds.

Reading the index is the "package" half of the pipeline and never encodes: whatever made
the file (one run, or chunk outputs joined by stream copy) only has to leave these boxes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from processor.errors import TranscodeError

# Fragment at every video keyframe (the encoder places them, so fragments follow the GOPs);
# an empty moov so the init segment is small and comes first; tfhd offsets relative to
# their moof (each fragment stands alone, as HLS byte ranges need); one sidx for the whole
# file at its start, which is what lets a progressive player seek without reading it all.
MOVFLAGS = "+frag_keyframe+delay_moov+default_base_moof+global_sidx"
MUXER_ARGS = ("-movflags", MOVFLAGS, "-f", "mp4")

_HEADER = struct.Struct(">I4s")


@dataclass(frozen=True)
class Fragment:
    """One ``moof`` + ``mdat`` pair: a GOP of video and the audio beside it."""

    offset: int  # byte offset of the moof
    size: int  # bytes of moof + mdat
    start_s: float  # presentation time of its first video sample, from the sidx
    duration_s: float


@dataclass(frozen=True)
class CmafIndex:
    init_size: int  # bytes 0 .. init_size-1 are ftyp + moov, the init segment
    fragments: tuple[Fragment, ...]

    @property
    def duration_s(self) -> float:
        return sum(f.duration_s for f in self.fragments)

    @property
    def media_size(self) -> int:
        return sum(f.size for f in self.fragments)


@dataclass(frozen=True)
class _Box:
    kind: bytes
    offset: int
    size: int
    header: int


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[_Box]:
    """The boxes between ``start`` and ``end`` (headers only; the payload is skipped)."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        size, kind = _HEADER.unpack(f.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", f.read(8))[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise TranscodeError(f"malformed MP4: box {kind!r} at {pos} overruns the file")
        yield _Box(kind, pos, size, header)
        pos += size


def _child(f: BinaryIO, parent: _Box, kind: bytes) -> _Box:
    for box in _boxes(f, parent.offset + parent.header, parent.offset + parent.size):
        if box.kind == kind:
            return box
    raise TranscodeError(f"malformed MP4: {parent.kind!r} has no {kind!r}")


def _video_track(f: BinaryIO, moov: _Box) -> int:
    """The track_ID of the moov's video track."""
    for trak in _boxes(f, moov.offset + moov.header, moov.offset + moov.size):
        if trak.kind != b"trak":
            continue
        hdlr = _child(f, _child(f, trak, b"mdia"), b"hdlr")
        f.seek(hdlr.offset + hdlr.header + 8)  # version/flags, pre_defined
        if f.read(4) != b"vide":
            continue
        tkhd = _child(f, trak, b"tkhd")
        f.seek(tkhd.offset + tkhd.header)
        version = f.read(1)[0]
        # track_ID follows the creation and modification times (64-bit in version 1).
        f.seek(tkhd.offset + tkhd.header + (20 if version == 1 else 12))
        return int(struct.unpack(">I", f.read(4))[0])
    raise TranscodeError("CMAF file has no video track")


def _sidx(f: BinaryIO, box: _Box) -> tuple[int, int, int, list[tuple[int, int, bool]]]:
    """(reference_ID, timescale, earliest presentation time, [(size, duration, starts
    with a SAP)]) of a sidx box."""
    f.seek(box.offset + box.header)
    body = f.read(box.size - box.header)
    version = body[0]
    reference_id, timescale = struct.unpack_from(">II", body, 4)
    if version == 0:
        earliest, _first_offset = struct.unpack_from(">II", body, 12)
        pos = 20
    else:
        earliest, _first_offset = struct.unpack_from(">QQ", body, 12)
        pos = 28
    (count,) = struct.unpack_from(">H", body, pos + 2)
    refs = []
    for i in range(count):
        ref, duration, sap = struct.unpack_from(">III", body, pos + 4 + 12 * i)
        if ref >> 31:
            raise TranscodeError("hierarchical sidx (references to sidx) is not supported")
        refs.append((ref & 0x7FFFFFFF, duration, bool(sap >> 31)))
    return reference_id, timescale, earliest, refs


def read_index(path: Path) -> CmafIndex:
    """The init segment's size and every fragment's byte range and timing.

    Raises TranscodeError when the file is not a CMAF file as ``MUXER_ARGS`` writes it:
    no sidx for the video track, a fragment not starting on a keyframe, or a sidx that
    disagrees with the fragments actually stored.
    """
    with path.open("rb") as f:
        end = f.seek(0, 2)
        boxes = list(_boxes(f, 0, end))
        kinds = [b.kind for b in boxes]
        if kinds[:2] != [b"ftyp", b"moov"]:
            raise TranscodeError(f"{path.name} does not start with ftyp + moov: {kinds[:4]}")
        video = _video_track(f, boxes[1])
        indexes = [_sidx(f, b) for b in boxes if b.kind == b"sidx"]
    refs = next(((scale, t0, r) for track, scale, t0, r in indexes if track == video), None)
    if refs is None:
        raise TranscodeError(f"{path.name} has no segment index (sidx) for its video")
    timescale, earliest, references = refs
    pairs = _fragments(boxes)
    if [size for size, _, _ in references] != [b.size for b in pairs]:
        raise TranscodeError(f"{path.name}: the sidx does not match the fragments stored")
    if not all(sap for _, _, sap in references):
        raise TranscodeError(f"{path.name}: a fragment does not start on a keyframe")
    fragments, at = [], earliest
    for box, (_, duration, _) in zip(pairs, references, strict=True):
        fragments.append(Fragment(box.offset, box.size, at / timescale, duration / timescale))
        at += duration
    return CmafIndex(init_size=boxes[1].offset + boxes[1].size, fragments=tuple(fragments))


def _fragments(boxes: list[_Box]) -> list[_Box]:
    """Each moof with the mdat after it, as one span."""
    spans = []
    for box, following in zip(boxes, boxes[1:], strict=False):
        if box.kind == b"moof":
            if following.kind != b"mdat":
                raise TranscodeError(f"moof at {box.offset} is not followed by its mdat")
            spans.append(_Box(b"frag", box.offset, box.size + following.size, 0))
    return spans
