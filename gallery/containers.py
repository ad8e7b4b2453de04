"""Recognise a media container from a file's first bytes (its "magic").

Enough to turn away a PDF or a text file at upload confirm; the worker's ffprobe is the
real check of whether the media decodes.
"""

from __future__ import annotations

# How many leading bytes :func:`sniff_container` wants: an MPEG-TS check looks at the
# sync byte of the first three 188-byte packets.
SNIFF_BYTES = 1024

_TS_PACKET = 188
_M2TS_PACKET = 192  # Blu-ray transport stream: 4-byte timecode + a TS packet
# Top-level atoms an old QuickTime file may open with instead of `ftyp`.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def _sync_bytes(head: bytes, *, offset: int, stride: int) -> bool:
    positions = [offset + i * stride for i in range(3)]
    present = [p for p in positions if p < len(head)]
    return len(present) >= 2 and all(head[p] == 0x47 for p in present)


def sniff_container(head: bytes) -> str | None:
    """The container name (``mp4``, ``matroska``, ``avi``…) or ``None`` if not media."""
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return "mp4"
    if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS:
        return "quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg-ps"
    if head.startswith(_ASF_GUID):
        return "asf"
    if _sync_bytes(head, offset=0, stride=_TS_PACKET):
        return "mpeg-ts"
    if _sync_bytes(head, offset=4, stride=_M2TS_PACKET):
        return "m2ts"
    return None
