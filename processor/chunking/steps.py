"""What each task of a chunked job does on its worker, between its claim and its ending:
fetch its inputs from the job's work prefix, run FFmpeg, put its outputs back.

- a chunk: its part only (``parts/``), the whole ladder for its range, one file per
  quality (``chunks/``);
- the audio: the source (only this task needs the audio, so only it reads the whole
  file; the split's worker runs it first, with the source it already has), one AAC file
  per audio bitrate (``audio/``);
- the stitch: the audio files, then each quality's chunks in turn (joined, then
  deleted), packaging, poster, GIF, storyboard and manifest as an unchunked transcode
  makes them, uploaded to the job's media prefix as an unchunked job uploads them. It
  returns the manifest; publishing it is the caller's.

Every task encodes with the settings in ``plan.json`` (the split's), not its own
worker's, so the chunks of one quality always join.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.job_state import Claimed
from common.models import TaskKind
from common.retry import call_with_retry
from common.storage import media_prefix, upload_tree
from processor.chunking.audio import audio_args, audio_files, copies_audio
from processor.chunking.chunk_encode import chunk_commands, chunk_file
from processor.chunking.stitch import stitch
from processor.chunking.work import (
    JobPlan,
    WorkStore,
    audio_key,
    chunk_key,
    local_source,
    part_key,
)
from processor.errors import Cancelled
from processor.ffmpeg import run_ffmpeg
from processor.heartbeat import HeartbeatThread, StopSignal
from processor.ladder import Rung
from processor.manifest import Manifest
from processor.progress import Progress
from processor.settings import ProcessorSettings
from processor.transcode_settings import TranscodeSettings

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


class Steps:
    def __init__(self, s3: S3Client, settings: ProcessorSettings, store: WorkStore,
                 job: Claimed) -> None:
        self.s3 = s3
        self.settings = settings
        self.store = store
        self.job = job

    def run(self, kind: TaskKind, spec: dict[str, Any], workdir: Path,
            heartbeat: HeartbeatThread, stop: StopSignal) -> Manifest | None:
        plan = self.store.get_plan()
        base = TranscodeSettings.from_settings(self.settings)
        settings = replace(base, encode=replace(base.encode, preset=plan.preset))
        if kind == TaskKind.CHUNK:
            self._chunk(plan, int(spec["index"]), settings, workdir, heartbeat, stop)
            return None
        if kind == TaskKind.AUDIO:
            self._audio(plan, workdir, heartbeat, stop)
            return None
        return self._stitch(plan, workdir, heartbeat, stop)

    def _fetch(self, relpath: str, workdir: Path) -> Path:
        """``workdir/relpath``: already there (the split's worker), else downloaded."""
        path = workdir / relpath
        return path if path.is_file() else self.store.get(relpath, path)

    def _chunk(self, plan: JobPlan, index: int, settings: TranscodeSettings, workdir: Path,
               heartbeat: HeartbeatThread, stop: StopSignal) -> None:
        chunk, rungs, info = plan.plan.chunks[index], plan.rungs, plan.info
        part = self._fetch(part_key(chunk), workdir)
        out = workdir / "chunks"
        out.mkdir(parents=True, exist_ok=True)
        files = [chunk_file(out, chunk, r.name) for r in rungs]
        for args in chunk_commands(part, files, info, rungs, settings.encode, plan.plan, chunk,
                                   vbv_init=plan.vbv_init):
            run_ffmpeg(args, duration_s=float(chunk.frames / plan.plan.rate),
                       on_progress=heartbeat.on_progress, cancel=stop.event,
                       budget=settings.budget.for_source(
                           replace(info, duration_s=plan.plan.decoded_s(chunk))))
        _check(stop)
        for rung, path in zip(rungs, files, strict=True):
            self.store.put(path, chunk_key(chunk, rung.name))

    def _audio(self, plan: JobPlan, workdir: Path, heartbeat: HeartbeatThread,
               stop: StopSignal) -> None:
        source = local_source(workdir, self.job.source_key)
        if not source.is_file():
            call_with_retry(self.s3.download_file, self.job.source_bucket,
                            self.job.source_key, str(source))
        out = workdir / "audio"
        out.mkdir(parents=True, exist_ok=True)
        timing = plan.timing
        run_ffmpeg(audio_args(source, plan.info, plan.rungs, timing, out,
                              copy=copies_audio(plan.plan, plan.info)),
                   duration_s=timing.seconds, on_progress=heartbeat.on_progress,
                   cancel=stop.event)
        _check(stop)
        for path in audio_files(out, plan.rungs, plan.plan, plan.info):
            self.store.put(path, audio_key(path.name))

    def _stitch(self, plan: JobPlan, workdir: Path, heartbeat: HeartbeatThread,
                stop: StopSignal) -> Manifest:
        rungs, info = plan.rungs, plan.info
        audio_dir, chunks_dir, outdir = workdir / "audio", workdir / "chunks", workdir / "out"
        if info.has_audio:
            for path in audio_files(audio_dir, rungs, plan.plan, info):
                self._fetch(audio_key(path.name), workdir)

        def fetch_quality(i: int, rung: Rung) -> None:
            heartbeat.on_progress(Progress(fraction=i / (len(rungs) + 1), speed=None,
                                           out_time_s=0.0))
            for chunk in plan.plan.chunks:
                self._fetch(chunk_key(chunk, rung.name), workdir)
            _check(stop)

        chunks_dir.mkdir(parents=True, exist_ok=True)
        manifest = stitch(plan.plan, info, rungs, plan.timing, chunks_dir=chunks_dir,
                          audio_dir=audio_dir, outdir=outdir, cancel=stop.event,
                          before_join=fetch_quality)
        _check(stop)
        upload_tree(self.s3, root=outdir, bucket=self.settings.media_bucket,
                    prefix=media_prefix(video_id=self.job.video_id, job_id=self.job.job_id))
        return manifest


def _check(stop: StopSignal) -> None:
    if stop.event.is_set():
        raise Cancelled(f"stopped ({stop.reason})")
