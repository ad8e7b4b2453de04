"""The web page's Content-Security-Policy: exactly what the page and hls.js use.

- scripts and styles: our own files only (``/static``; hls.js from ``/static/vendor``);
  no inline script, no eval.
- media: presigned MP4 URLs on the bucket's origin, and ``blob:``, because hls.js plays
  through Media Source Extensions (the video element's src is a blob URL).
- workers: ``blob:``; hls.js runs its transmuxer in a worker made from a Blob.
- connections: the API (``'self'``), the bucket (hls.js fetches playlists' byte ranges
  from presigned URLs; uploads PUT to presigned URLs).
- images: thumbnails and previews on the bucket's origin.
- nothing may frame the page; no plugins, no <base>, forms post only here.

The bucket origins are read from presigned URLs the service's own S3 client makes, so
they follow the endpoint, region and addressing style actually in use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gateway.settings import GatewaySettings


def bucket_origins(s3: Any, settings: GatewaySettings) -> list[str]:
    origins = []
    for bucket in (settings.media_bucket, settings.uploads_bucket):
        url = urlsplit(s3.generate_presigned_url(  # local computation: no request
            "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60))
        origins.append(f"{url.scheme}://{url.netloc}")
    return sorted(set(origins) | set(settings.page_extra_origins))


def page_csp(origins: list[str]) -> str:
    theirs = " ".join(origins)
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' {theirs}",
        f"media-src 'self' blob: {theirs}",
        f"connect-src 'self' {theirs}",
        "worker-src blob:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ])
