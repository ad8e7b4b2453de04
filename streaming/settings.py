"""Streaming settings (``VF_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from common.settings import CommonSettings
from common.storage import MAX_PRESIGN_EXPIRY_S

MIN_SIGNING_KEY_CHARS = 32


class StreamingSettings(CommonSettings):
    # Prometheus metrics on a listener of their own, never the public port (0: none).
    streaming_metrics_port: int = Field(default=9106, ge=0, le=65535)
    # Lifetime of a presigned URL for an MP4, thumbnail or preview.
    stream_url_expiry_s: int = Field(default=3600, gt=0, le=MAX_PRESIGN_EXPIRY_S)
    # Lifetime of an HLS playback grant and of the media URLs in its playlists. A URL
    # handed out cannot be called back before it expires, so this is kept short: a
    # feature-length viewing; players that play on longer fetch the playlists again
    # (the page does).
    hls_url_expiry_s: int = Field(default=2 * 3600, gt=0, le=MAX_PRESIGN_EXPIRY_S)
    # Key that signs HLS playback grants, the same in every process serving streaming
    # (gateways, Lambdas). Required unless the mode is relaxed (VF_ENV local or test: one
    # machine): a random key per process would make one process refuse another's grants.
    stream_signing_key: SecretStr | None = None
    # Absolute base for URLs this service hands out (e.g. https://videos.example.com);
    # unset: taken from the request.
    public_base_url: str | None = None

    @model_validator(mode="after")
    def _signing_key(self) -> StreamingSettings:
        key = self.stream_signing_key
        if key is None:
            if not self.env.relaxed:
                raise ValueError(
                    f"VF_STREAM_SIGNING_KEY must be set when VF_ENV={self.env.value}: every "
                    "streaming process must sign HLS grants with the same key (e.g. "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        elif len(key.get_secret_value()) < MIN_SIGNING_KEY_CHARS:
            raise ValueError(f"VF_STREAM_SIGNING_KEY must be at least "
                             f"{MIN_SIGNING_KEY_CHARS} characters")
        return self
