"""Streaming settings (``VF_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from common.settings import CommonSettings
from common.storage import MAX_PRESIGN_EXPIRY_S


class StreamingSettings(CommonSettings):
    # Lifetime of a presigned URL for an MP4, thumbnail or preview.
    stream_url_expiry_s: int = Field(default=3600, gt=0, le=MAX_PRESIGN_EXPIRY_S)
    # Lifetime of an HLS playback grant and of the segment URLs in its playlists: long
    # enough to watch a whole video without the player refetching playlists.
    hls_url_expiry_s: int = Field(default=6 * 3600, gt=0, le=MAX_PRESIGN_EXPIRY_S)
    # Key that signs HLS playback grants. Unset: a random key per process, which is fine
    # for one process; set it when several instances (or Lambdas) serve streaming.
    stream_signing_key: SecretStr | None = None
    # Absolute base for URLs this service hands out (e.g. https://videos.example.com);
    # unset: taken from the request.
    public_base_url: str | None = None
