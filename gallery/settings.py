"""Gallery settings (``VF_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from common.settings import CommonSettings

# S3 limits (Amazon S3 user guide, "Uploading and copying objects using multipart upload":
# multipart upload limits; and PutObject, "Upload a single object up to 5 GB").
S3_MAX_SINGLE_PUT_BYTES = 5 * 1024**3
S3_MAX_OBJECT_BYTES = 5 * 1024**4


class GallerySettings(CommonSettings):
    # Prometheus metrics on a listener of their own, never the public port (0: none).
    gallery_metrics_port: int = Field(default=9105, ge=0, le=65535)
    # The largest upload accepted, single PUT or multipart. Checked when a URL is asked
    # for, signed into single-PUT URLs, and checked again at confirm.
    max_upload_bytes: int = Field(default=S3_MAX_SINGLE_PUT_BYTES, gt=0, le=S3_MAX_OBJECT_BYTES)
    # Lifetime of presigned upload URLs (single PUT and each multipart part).
    upload_url_expiry_s: int = Field(default=3600, gt=0, le=7 * 24 * 3600)
    # Preferred multipart part size; raised when a file would need more than 10,000 parts.
    multipart_part_bytes: int = Field(default=16 * 1024**2, ge=5 * 1024**2)
    # One view per (viewer, video) within this window.
    view_window_s: int = Field(default=6 * 3600, gt=0)
    page_size_default: int = Field(default=20, gt=0, le=100)
    # Redis keys of the view counter start with this (VF_REDIS_URL enables Redis).
    view_key_prefix: str = "vf:views:"
