"""HLS playlists rewritten so a stock player plays a private bucket.

The stored master lists variants by relative path (``720p/index.m3u8``). We serve it
with each variant pointing back at this service (``hls/720p/index.m3u8?grant=…``,
relative to ``/api/stream/{id}/master.m3u8``), and serve each variant with its init
segment (``#EXT-X-MAP:URI``) and media segments replaced by presigned S3 URLs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from common.models import MediaAsset
from common.storage import presign_get

PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"
_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')


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


def read_playlist(s3: Any, asset: MediaAsset) -> str:
    body = s3.get_object(Bucket=asset.bucket, Key=asset.key)["Body"]
    with body:
        return str(body.read().decode("utf-8"))


def master_playlist(text: str, *, master: MediaAsset, variants: list[MediaAsset],
                    grant: str, sign: Callable[[str], str]) -> str:
    """The master with variants pointing at this service and other URIs presigned."""
    quality_by_key = {v.key: v.quality for v in variants}

    def rewrite(uri: str) -> str:
        key = resolve_key(master.key, uri)
        if key is None:
            return uri
        quality = quality_by_key.get(key)
        if quality is not None:
            return f"hls/{quote(quality)}/index.m3u8?grant={quote(grant)}"
        return sign(key)  # e.g. an audio-only rendition or I-frame list stored beside it

    return rewrite_uris(text, rewrite)


def variant_playlist(text: str, *, variant: MediaAsset, sign: Callable[[str], str]) -> str:
    """A variant playlist whose init and media segments are presigned S3 URLs."""

    def rewrite(uri: str) -> str:
        key = resolve_key(variant.key, uri)
        return uri if key is None else sign(key)

    return rewrite_uris(text, rewrite)


def presigner(s3: Any, *, bucket: str, expires_s: int) -> Callable[[str], str]:
    def sign(key: str) -> str:
        return presign_get(s3, bucket=bucket, key=key, expires_s=expires_s)

    return sign
