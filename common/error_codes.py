"""Why a job failed, as a stable code: the one list the API publishes (``Job.error_code``).

``job.error`` stays a short human sentence; the code is what callers branch on. Stderr
tails, temp paths and SQL never reach either: they go to the logs.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    # The input can never be transcoded (permanent: no retry).
    NOT_MEDIA = "not_media"                  # no allowed demuxer recognises the bytes
    CORRUPT = "corrupt"                      # truncated, or its video does not decode
    NO_VIDEO = "no_video"                    # audio only, or no usable video stream
    STILL_IMAGE = "still_image"              # a still-image container or codec
    UNSUPPORTED_CODEC = "unsupported_codec"  # this FFmpeg has no decoder for it
    TOO_LONG = "too_long"                    # measured duration over the limit
    TOO_BIG = "too_big"                      # file size over the limit
    TOO_MANY_PIXELS = "too_many_pixels"      # coded frame size over the limit
    BUDGET_EXCEEDED = "budget_exceeded"      # the encode ran past its CPU or wall budget
    SOURCE_MISSING = "source_missing"        # the confirmed source object is gone
    # The platform gave up (transient faults that never cleared).
    RETRIES_EXHAUSTED = "retries_exhausted"
    DEAD_LETTERED = "dead_lettered"
    INTERNAL = "internal"
