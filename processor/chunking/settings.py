"""The chunking knobs as ``VF_CHUNK_*`` settings, mixed into the processor's settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field

from processor.chunking.plan import ChunkPolicy


class ChunkingSettings(BaseModel):
    # Off: every source is transcoded whole by one worker.
    chunking: bool = True
    # Sources longer than this (seconds of output) are split; around 4 minutes by default,
    # below which one worker finishes soon enough and a split only adds its overheads.
    chunk_threshold_s: float = Field(default=240.0, gt=0)
    # About this much output per chunk (seconds; boundaries fall on 2 s GOPs).
    chunk_length_s: float = Field(default=60.0, gt=0)
    # A cut that must decode more than this (seconds) before its first frame, because the
    # source's keyframes are that sparse, makes the source "sparse":
    chunk_max_preroll_s: float = Field(default=10.0, ge=0)
    # … and a sparse source is transcoded whole, or chunked anyway with every chunk decoding
    # from the keyframe before it (its overhead counted in the work estimate).
    chunk_sparse_keyframes: Literal["whole", "decode"] = "whole"
    # x264's initial VBV fullness for chunks after the first (processor/chunking/
    # chunk_encode.py): the level a running encode reaches at a GOP boundary, not x264's 0.9.
    chunk_vbv_init: float = Field(default=0.5, gt=0, le=1)
    # Seconds a job not yet started waits behind started chunked jobs' tasks before the
    # fair order serves it (common/scheduler.py, "chunk hold"). Unset: DESIGN.md's order.
    chunk_hold_s: float | None = Field(default=None, ge=0)

    def chunk_hold(self) -> timedelta | None:
        return None if self.chunk_hold_s is None else timedelta(seconds=self.chunk_hold_s)

    def chunk_policy(self) -> ChunkPolicy:
        return ChunkPolicy(threshold_s=self.chunk_threshold_s, chunk_s=self.chunk_length_s,
                           max_preroll_s=self.chunk_max_preroll_s,
                           sparse=self.chunk_sparse_keyframes)
