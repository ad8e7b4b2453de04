"""bench-chunked's pinned worker processes (``bench/chunked.py`` starts them under taskset).

    python -m bench.chunked_worker whole|pool SOURCE WORKDIR CHUNK_S

``whole``: intake, then ``processor.transcode.transcode`` of the source into WORKDIR/out.
``pool``: take tasks from WORKDIR/queue until the job is stitched: the split, the audio,
the chunks, then the stitch, each with processor/chunking's own functions as
``processor/chunking/local.py`` calls them. A task is claimed by renaming its file into
WORKDIR/claimed (atomic: one taker); the stitch by creating WORKDIR/stitch (the same).
Every step appends its wall span and CPU seconds (this process and its waited-for
children, from getrusage) to WORKDIR/steps.jsonl.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from common.logging import configure_logging
from processor.chunking.audio import audio_args, audio_file
from processor.chunking.chunk_encode import chunk_args, chunk_file
from processor.chunking.local import DEFAULT_VBV_INIT
from processor.chunking.plan import ChunkPlan, ChunkPolicy
from processor.chunking.prepare import plan_source
from processor.chunking.split import part_name, split_video
from processor.chunking.stitch import join_quality
from processor.encode import EncodeSettings, Timeline, timeline
from processor.ffmpeg import run_ffmpeg
from processor.intake import intake
from processor.ladder import Rung, choose_ladder
from processor.manifest import Manifest
from processor.source_info import SourceInfo
from processor.transcode import finish, transcode
from processor.transcode_settings import TranscodeSettings

STEPS = "steps.jsonl"
# Both runs encode the whole ladder (a source that fits the top rung would be copied,
# and a copied source runs whole), with one x264 thread: a one-core instance.
SETTINGS = TranscodeSettings(encode=EncodeSettings(threads=1), passthrough=False)
_POLL_S = 0.02


@dataclass(frozen=True)
class Job:
    """What the split hands every later task (the fleet keeps it in plan.json)."""

    info: SourceInfo
    rungs: list[Rung]
    timing: Timeline
    plan: ChunkPlan


def clear(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)


def prepare_queue(work: Path) -> None:
    for d in ("queue", "claimed", "done"):
        (work / d).mkdir()
    (work / "queue" / "00-split").touch()


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextmanager
def step(work: Path, name: str) -> Iterator[None]:
    start, cpu = time.time(), _cpu_s()
    yield
    record = {"step": name, "core": _core(), "start": start, "end": time.time(),
              "cpu_s": _cpu_s() - cpu}
    with (work / STEPS).open("a") as out:  # one short append per line: never interleaved
        out.write(json.dumps(record) + "\n")


def _core() -> int:
    return min(os.sched_getaffinity(0))


def whole(source: Path, work: Path) -> None:
    with step(work, "intake"):
        info = intake(source, SETTINGS.limits)
    with step(work, "transcode (encode + package, previews)"):
        transcode(source, work / "out", settings=SETTINGS, info=info)


class Pool:
    def __init__(self, source: Path, work: Path, chunk_s: float) -> None:
        self.source, self.work = source, work
        self.policy = ChunkPolicy(threshold_s=chunk_s, chunk_s=chunk_s)
        self._job: Job | None = None

    @property
    def job(self) -> Job:
        if self._job is None:
            self._job = pickle.loads((self.work / "job.pickle").read_bytes())
        return self._job

    def run(self) -> None:
        while not (self.work / "stitch").exists():
            name = self._claim()
            if name is not None:
                self._task(name)
                (self.work / "done" / name).touch()
            elif self._all_done() and self._claim_stitch():
                self.stitch()
            else:
                time.sleep(_POLL_S)

    def _claim(self) -> str | None:
        for name in sorted(os.listdir(self.work / "queue")):
            try:
                (self.work / "queue" / name).rename(self.work / "claimed" / name)
            except FileNotFoundError:
                continue  # the other worker took it
            return name
        return None

    def _all_done(self) -> bool:
        done = set(os.listdir(self.work / "done"))
        if "00-split" not in done:
            return False
        wanted = {f"20-chunk-{c.index:04d}" for c in self.job.plan.chunks}
        if self.job.info.has_audio:
            wanted.add("10-audio")
        return wanted <= done

    def _claim_stitch(self) -> bool:
        try:
            (self.work / "stitch").mkdir()
        except FileExistsError:
            return False
        return True

    def _enqueue(self, name: str) -> None:
        (self.work / "queue" / name).touch()

    def _task(self, name: str) -> None:
        tasks: dict[str, Callable[[], None]] = {"00-split": self.split,
                                                "10-audio": self.audio}
        if name in tasks:
            tasks[name]()
        else:
            self.chunk(int(name.rsplit("-", 1)[1]))

    def split(self) -> None:
        with step(self.work, "split: intake + plan"):
            info = intake(self.source, SETTINGS.limits)
            rungs = choose_ladder(info.width, info.height)
            timing = timeline(info, SETTINGS.limits.max_duration_s)
            scan = plan_source(self.source, info, rungs, timing, self.policy,
                               passthrough_on=False)
            if scan.decision.plan is None:
                raise SystemExit(f"not chunked: {scan.decision.reason}")
            job = Job(info, rungs, timing, scan.decision.plan)
            (self.work / "job.pickle").write_bytes(pickle.dumps(job))
        if info.has_audio:
            self._enqueue("10-audio")  # reads the source, not the parts: runs meanwhile
        with step(self.work, "split: parts by stream copy"):
            split_video(self.source, info.container, job.plan, video_index=info.video.index,
                        packets=scan.packets, workdir=self.work / "parts",
                        on_part=lambda chunk, _: self._enqueue(f"20-chunk-{chunk.index:04d}"))

    def audio(self) -> None:
        job = self.job
        with step(self.work, "audio (whole source, once)"):
            out = self.work / "audio"
            out.mkdir(exist_ok=True)
            run_ffmpeg(audio_args(self.source, job.info, job.rungs, job.timing, out))

    def chunk(self, index: int) -> None:
        job = self.job
        chunk = job.plan.chunks[index]
        out = self.work / "chunks"
        out.mkdir(exist_ok=True)
        outputs = [chunk_file(out, chunk, r.name) for r in job.rungs]
        with step(self.work, f"chunk {index} ({float(chunk.frames / job.plan.rate):.0f} s, "
                             f"preroll {chunk.preroll_s:.2f} s)"):
            run_ffmpeg(chunk_args(self.work / "parts" / part_name(chunk), outputs, job.info,
                                  job.rungs, SETTINGS.encode, job.plan, chunk,
                                  vbv_init=DEFAULT_VBV_INIT),
                       budget=SETTINGS.budget.for_source(
                           replace(job.info, duration_s=job.plan.decoded_s(chunk))))

    def stitch(self) -> None:
        """``processor.chunking.stitch.stitch``'s two halves, timed apart."""
        job, outdir = self.job, self.work / "out"
        outdir.mkdir()
        with step(self.work, "stitch: join by stream copy"):
            for rung in job.rungs:
                audio = audio_file(self.work / "audio", rung) if job.info.has_audio else None
                join_quality(job.plan, rung, self.work / "chunks", audio, outdir)
        with step(self.work, "stitch: package, previews, manifest"):
            finish(outdir, job.rungs, job.info, job.timing)


def check_same_assets(whole_out: Path, chunked_out: Path) -> None:
    """Both runs published the same set of assets (the tests compare their contents)."""
    names = [sorted(a.path for a in Manifest.read(d).assets) for d in (whole_out, chunked_out)]
    if names[0] != names[1]:
        raise SystemExit(f"the chunked run published {names[1]}, the whole run {names[0]}")


def main(argv: list[str]) -> int:
    mode, source, work, chunk_s = argv
    configure_logging(level="WARNING")  # the table is the output
    if mode == "whole":
        whole(Path(source), Path(work))
    else:
        Pool(Path(source), Path(work), float(chunk_s)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
