"""Where the last unit of an Ogg or MPEG program stream says it ends.

Neither container declares its size up front, but each is a chain of units that declare
their own length: Ogg pages (RFC 3533) and the packs and PES packets of an MPEG program
stream (ISO/IEC 13818-1, what DVD VOBs and .mpg files hold). A copy cut short ends inside
its last unit; FFmpeg plays up to the cut and says nothing. So the tail is walked unit by
unit from a point known to be a boundary, and the end the last unit declares is the
file's declared size. Where the walk cannot be anchored, or lands on bytes that are no
unit (trailing tags, garbage), it says nothing: only a proven cut is called one.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

# Ogg: a page is at most a 27-byte header, 255 lacing values and 255 x 255 bytes of data.
_OGG_MAX_PAGE = 27 + 255 + 255 * 255
_OGG_CAPTURE = b"OggS"
# Two whole pages of tail: at least one complete page precedes the last, to anchor on.
_OGG_TAIL = 2 * _OGG_MAX_PAGE + 27
# Ogg's CRC-32 is the unreflected one (polynomial 0x04c11db7, no pre- or post-inversion);
# zlib's is reflected, so bit-reverse each byte in, the result out, and undo the
# inversions.
_BIT_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))

# MPEG-PS: packs are small (a DVD's are 2048 bytes); a PES packet's length is 16 bits.
_PS_TAIL = 256 * 1024
_PACK = b"\x00\x00\x01\xba"
_END_CODE = 0xB9
# Stream ids from here up carry a 16-bit length (the system header 0xBB included).
_FIRST_LENGTH_ID = 0xBB
# A walk that anchors on a pack must cross this many more units before it is trusted: a
# start code inside audio data can look like a pack, not like a chain of them.
_PS_CHAIN = 4
# Zero bytes may come before a start code, and belong to no unit: a VCD puts 20 after each
# audio pack (the VCD standard, p. IV-8, as FFmpeg's muxer cites it).
_NONZERO = re.compile(rb"[^\x00]")
# Real units are found at the first or second try (a marker inside data is rare); a tail
# crafted full of markers must not cost a CRC or a walk for each.
_MAX_ANCHORS = 64


class _Unproven(Exception):
    """An anchored walk met bytes that are no unit: a later anchor on the same chain would
    meet them too, so trying each (quadratic in the tail) proves nothing more."""


def ogg_end(path: Path, size: int) -> int | None:
    """The byte where the file's last Ogg page ends by its own header."""
    return _walk_tail(path, size, _OGG_TAIL, _OGG_CAPTURE, _ogg_from)


def _ogg_from(tail: bytes, at: int) -> int | None:
    # Only a whole page whose CRC holds is a boundary: "OggS" may occur in page data.
    end = _ogg_page_end(tail, at)
    return _ogg_walk(tail, end) if end <= len(tail) and _ogg_crc_ok(tail[at:end]) else None


def _ogg_walk(tail: bytes, at: int) -> int:
    while at < len(tail):
        if not _OGG_CAPTURE.startswith(tail[at:at + 4]):
            raise _Unproven  # something after the pages: not a cut we can prove
        at = _ogg_page_end(tail, at)
    return at


def _ogg_page_end(data: bytes, at: int) -> int:
    """Where the page at ``at`` ends; past the data when the header is cut."""
    segments_at = at + 26
    if segments_at >= len(data):
        return segments_at + 1
    lacing = data[segments_at + 1:segments_at + 1 + data[segments_at]]
    if len(lacing) < data[segments_at]:
        return segments_at + 1 + data[segments_at]
    return segments_at + 1 + len(lacing) + sum(lacing)


def _ogg_crc_ok(page: bytes) -> bool:
    stored = int(struct.unpack_from("<I", page, 22)[0])
    zeroed = (page[:22] + b"\x00" * 4 + page[26:]).translate(_BIT_REVERSED)
    reflected = zlib.crc32(zeroed, 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2) == stored


def program_stream_end(path: Path, size: int) -> int | None:
    """The byte where the file's last pack (or PES packet) ends by its own header."""
    return _walk_tail(path, size, _PS_TAIL, _PACK, _ps_walk)


def _ps_walk(tail: bytes, at: int) -> int | None:
    units, packet_due = 0, False
    while at < len(tail):
        at = _past_zeros(tail, at)
        if at == len(tail):
            # Zeros to the end: after a pack header, whose packet must follow, that packet's
            # start code, cut; after a packet, padding (or a cut that cannot be told from it).
            return (at + 1 if packet_due else at) if units > _PS_CHAIN else None
        end = _ps_unit_end(tail, at) if b"\x00\x00\x01".startswith(tail[at:at + 3]) else None
        if end is None:
            if units > _PS_CHAIN:
                raise _Unproven
            return None
        packet_due = tail[at + 3:at + 4] == b"\xba"  # a packet must follow a pack header
        at, units = end, units + 1
    return at if units > _PS_CHAIN else None


def _past_zeros(data: bytes, at: int) -> int:
    """Past zero stuffing at ``at``: the start code it leads to, or the end of the data
    when it runs there; ``at`` itself when there is none."""
    found = _NONZERO.search(data, at)
    if found is None:
        return len(data)
    run = found.start() - at
    return at + run - 2 if run > 2 and data[found.start()] == 1 else at


def _ps_unit_end(data: bytes, at: int) -> int | None:
    """Where the unit at ``at`` ends (past the data when it is cut); None: no unit."""
    if at + 4 > len(data):
        return at + 4 + 2  # cut inside a start code: some unit began here
    stream_id = data[at + 3]
    if stream_id == 0xBA:
        if at + 5 > len(data):
            return at + 14
        if data[at + 4] >> 6 == 0b01:  # MPEG-2: 14 bytes and up to 7 of stuffing
            return at + 14 + (data[at + 13] & 7 if at + 14 <= len(data) else 0)
        return at + 12 if data[at + 4] >> 4 == 0b0010 else None  # MPEG-1
    if stream_id == _END_CODE:
        return at + 4
    if stream_id < _FIRST_LENGTH_ID:
        return None
    if at + 6 > len(data):
        return at + 6
    return at + 6 + int(struct.unpack_from(">H", data, at + 4)[0])


def _walk_tail(path: Path, size: int, tail_bytes: int, marker: bytes,
               walk: Callable[[bytes, int], int | None]) -> int | None:
    """Walk the file's last ``tail_bytes`` from the first ``marker`` that ``walk`` can
    follow to the end; where that walk ends, as an offset in the file."""
    start = max(0, size - tail_bytes)
    with path.open("rb") as f:
        f.seek(start)
        tail = f.read(size - start)
    at = tail.find(marker)
    for _ in range(_MAX_ANCHORS):
        if at < 0:
            break
        try:
            end = walk(tail, at)
        except _Unproven:
            return None
        if end is not None:
            return start + end
        at = tail.find(marker, at + 1)
    return None
