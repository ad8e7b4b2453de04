"""HLS playlists rewritten so a stock player plays a private bucket.

The stored master lists variants by relative path (``720p.m3u8``). We serve it with each
variant pointing back at this service (``hls/720p/index.m3u8?grant=…``, relative to
``/api/stream/{id}/master.m3u8``).

A variant over a CMAF file names that file once, in ``#EXT-X-DEFINE:NAME="media",VALUE=…``
(HLS version 8 variable substitution): serving it swaps that one relative path for one
presigned URL, so the cost is the same for a 10-second clip and a 4-hour film. Variants
stored before CMAF (one object per segment) still play: every URI is presigned.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from common.storage import presign_get
from streaming.playback import PlaybackAsset

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"
MEDIA_VARIABLE = "media"  # what processor/hls.py names the CMAF file's URI
_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')
_DEFINE = re.compile(rf'^#EXT-X-DEFINE:NAME="{MEDIA_VARIABLE}",VALUE="([^"]*)"\r?$', re.M)
_VERSION = re.compile(r"^#EXT-X-VERSION:\d+\r?$", re.M)
# Byte ranges on EXT-X-MAP in a media playlist need version 6 (RFC 8216 section 7);
# without variables, nothing newer is used.
_EXPANDED_VERSION = "#EXT-X-VERSION:7"


def rewrite_uris(text: str, rewrite: Callable[[str], str]) -> str:
    """Apply ``rewrite`` to every URI of a playlist: URI lines and ``URI="…"`` attributes."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            lines.append(line)
        elif stripped.startswith("#"):
            lines.append(_URI_ATTRIBUTE.sub(
                lambda m: f'URI="{rewrite(m.group(1))}"', line))
        else:
            lines.append(rewrite(stripped))
    return "\n".join(lines) + "\n"


def resolve_key(playlist_key: str, uri: str) -> str | None:
    """The bucket key a relative URI in the playlist at ``playlist_key`` names."""
    if "://" in uri or uri.startswith("/"):
        return None  # absolute: left alone
    path = uri.split("?", 1)[0].split("#", 1)[0]
    return posixpath.normpath(posixpath.join(posixpath.dirname(playlist_key), path))


def master_playlist(text: str, *, master: PlaybackAsset, variants: list[PlaybackAsset],
                    grant: str, sign: Callable[[str], str], expand: bool = False) -> str:
    """The master with variants pointing at this service and other URIs presigned."""
    quality_by_key = {v.key: v.quality for v in variants}
    extra = "&expand=1" if expand else ""

    def rewrite(uri: str) -> str:
        key = resolve_key(master.key, uri)
        if key is None:
            return uri
        quality = quality_by_key.get(key)
        if quality is not None:
            return f"hls/{quote(quality)}/index.m3u8?grant={quote(grant)}{extra}"
        return sign(key)  # e.g. an audio-only rendition or I-frame list stored beside it

    return rewrite_uris(text, rewrite)


@dataclass(frozen=True)
class VariantTemplate:
    """A stored variant playlist, split where its media URI goes.

    ``media_key`` is the CMAF file the playlist plays; None for a playlist stored before
    CMAF, whose segments are separate objects (``text`` is then the whole playlist)."""

    text: str
    head: str = ""
    tail: str = ""
    media_key: str | None = None
    define_line: tuple[int, int] = (0, 0)  # where the EXT-X-DEFINE line is in ``text``

    @classmethod
    def parse(cls, text: str, *, playlist_key: str) -> VariantTemplate:
        define = _DEFINE.search(text)
        key = resolve_key(playlist_key, define.group(1)) if define else None
        if define is None or key is None:
            return cls(text)
        line_end = text.find("\n", define.end())
        return cls(text, head=text[:define.start(1)], tail=text[define.end(1):], media_key=key,
                   define_line=(define.start(), len(text) if line_end < 0 else line_end + 1))

    def render(self, media_url: str, *, expand: bool = False) -> str:
        """The playlist with its media URI presigned. ``expand`` substitutes the variable
        here, for players without HLS version 8 (FFmpeg's HLS demuxer, older VLC): the URL
        then appears once per segment, so the answer grows with the length."""
        if self.media_key is None:
            raise ValueError("a playlist without a media variable has nothing to render")
        if not expand:
            return self.head + _attribute_safe(media_url) + self.tail
        start, end = self.define_line
        body = _VERSION.sub(_EXPANDED_VERSION, self.text[:start] + self.text[end:], count=1)
        return body.replace(f"{{${MEDIA_VARIABLE}}}", media_url)


def _attribute_safe(url: str) -> str:
    # A quoted-string attribute may not hold '"' or line breaks; presigned URLs never do,
    # and refusing beats serving a playlist that points somewhere else.
    if '"' in url or "\n" in url or "\r" in url:
        raise ValueError("URL cannot be an HLS attribute value")
    return url


def legacy_variant(text: str, *, playlist_key: str, sign: Callable[[str], str]) -> str:
    """A pre-CMAF variant: its init and every media segment presigned."""

    def rewrite(uri: str) -> str:
        key = resolve_key(playlist_key, uri)
        return uri if key is None else sign(key)

    return rewrite_uris(text, rewrite)


def presigner(s3: S3Client, *, bucket: str, expires_s: int) -> Callable[[str], str]:
    def sign(key: str) -> str:
        return presign_get(s3, bucket=bucket, key=key, expires_s=expires_s)

    return sign
