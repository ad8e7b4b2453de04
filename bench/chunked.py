"""``make bench-chunked``: one long source whole on one instance, and chunked on two (issue 10).

    python -m bench.chunked [--quick]

A 3-minute 1080p source with film-like grain and a soundtrack (lavfi, cached in
bench/.cache), cut by the bench's own policy into 6 chunks of 30 s. This machine has 2
cores, so an instance is a worker process pinned to one core (``taskset -c N``) whose x264
runs one thread:
- (a) one pinned worker transcodes it whole (``processor.transcode.transcode``);
- (b) two pinned workers, on cores 0 and 1, share it as the fleet would: whichever is
  first takes the split (intake, plan, parts by stream copy), the audio is queued as soon
  as the plan exists, each chunk as soon as its part is cut, and the worker that
  finishes the last of them runs the stitch (joins by stream copy, then packaging, poster,
  GIF, storyboard and manifest). The steps are processor/chunking's own functions; the
  queue is a directory where a task is claimed by an atomic rename (the fleet's queue and
  task rows are not what is measured here).

Measured: wall time, and the CPU seconds of every worker process with its FFmpeg and
ffprobe children (``wait4``'s rusage: the process and every child it waited for, Python
start and imports included), each step's share from ``getrusage`` in the worker. Not
measured: S3 transfers (parts, chunk files) and the queue's round trips, which a real
fleet adds per task. Targets: (a)/(b) wall >= 1.8x; (b)/(a) CPU <= 1.05x.

Results go to bench/results/chunked.txt and .json (``--quick``: chunked_quick.*); the
simulator takes its chunking overheads from the .json (``processor/simulation/
bench_figures.py``). ``--quick`` (12 s, 6 chunks of 2 s) only checks that everything runs:
fixed costs weigh far more on 2 s chunks, so its ratios say nothing about the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import chunked_worker as worker
from bench.transcode import SOURCE_FPS, cached_source

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"
TARGET_WALL = 1.8
TARGET_CPU = 1.05
# Source keyframes every 25 frames (~1 s, as phones record): not on the output's 2 s
# GOPs, so every cut but the first decodes a little before its chunk, as real cuts do.
SOURCE_GOP = 25


@dataclass(frozen=True)
class Shape:
    seconds: int
    chunk_s: int
    name: str


FULL = Shape(180, 30, "chunked")
QUICK = Shape(12, 2, "chunked_quick")


@dataclass(frozen=True)
class Process:
    """One worker process as ``wait4`` saw it."""

    core: int
    wall_s: float
    cpu_s: float


def make_source(shape: Shape) -> Path:
    return cached_source(CACHE / f"chunked_source_{shape.seconds}s.mp4", 1920, 1080,
                         shape.seconds, "-g", str(SOURCE_GOP))


def spawn(core: int, *args: str) -> subprocess.Popen[bytes]:
    cmd = ["taskset", "-c", str(core), sys.executable, "-m", "bench.chunked_worker", *args]
    return subprocess.Popen(cmd, cwd=BENCH.parent)


def reap(procs: list[tuple[int, subprocess.Popen[bytes]]], started: float) -> list[Process]:
    """Wait for every process; its wall time and the CPU of it and its children."""
    done = []
    for core, proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"the worker on core {core} failed ({proc.returncode})")
        done.append(Process(core, time.time() - started, usage.ru_utime + usage.ru_stime))
    return done


def run_whole(source: Path, shape: Shape, work: Path) -> list[Process]:
    started = time.time()
    return reap([(0, spawn(0, "whole", str(source), str(work), str(shape.chunk_s)))], started)


def run_chunked(source: Path, shape: Shape, work: Path) -> list[Process]:
    worker.prepare_queue(work)
    started = time.time()
    procs = [(core, spawn(core, "pool", str(source), str(work), str(shape.chunk_s)))
             for core in (0, 1)]
    return reap(procs, started)


@dataclass(frozen=True)
class Step:
    step: str
    core: int
    start: float
    end: float
    cpu_s: float

    @property
    def wall_s(self) -> float:
        return self.end - self.start


def steps(work: Path) -> list[Step]:
    lines = (work / worker.STEPS).read_text().splitlines()
    return sorted((Step(**json.loads(line)) for line in lines), key=lambda s: s.start)


def report(shape: Shape, whole: list[Process], chunked: list[Process],
           a_steps: list[Step], b_steps: list[Step],
           load: tuple[float, float]) -> tuple[list[str], dict[str, float | int | str]]:
    a_wall, b_wall = max(p.wall_s for p in whole), max(p.wall_s for p in chunked)
    a_cpu, b_cpu = sum(p.cpu_s for p in whole), sum(p.cpu_s for p in chunked)
    lines = [f"{'run':<3} {'step':<40} {'core':>4} {'wall s':>8} {'cpu s':>8}",
             "-" * 66]
    for label, procs, rows in (("a", whole, a_steps), ("b", chunked, b_steps)):
        for row in rows:
            lines.append(f"{label:<3} {row.step:<40} {row.core:>4} {row.wall_s:>8.1f} "
                         f"{row.cpu_s:>8.1f}")
        for p in procs:
            own = sum(r.cpu_s for r in rows if r.core == p.core)
            lines.append(f"{label:<3} {'worker process, other (start, waits)':<40} "
                         f"{p.core:>4} {'':>8} {p.cpu_s - own:>8.1f}")
        total_wall, total_cpu = max(p.wall_s for p in procs), sum(p.cpu_s for p in procs)
        lines.append(f"{label:<3} {'TOTAL (wall; CPU of every process)':<40} {'':>4} "
                     f"{total_wall:>8.1f} {total_cpu:>8.1f}")
    wall_ratio, cpu_ratio = a_wall / b_wall, b_cpu / a_cpu
    lines += [
        f"wall (a)/(b) {wall_ratio:.2f}x (target >= {TARGET_WALL}x): "
        f"{'PASS' if wall_ratio >= TARGET_WALL else 'MISS'}",
        f"CPU  (b)/(a) {cpu_ratio:.3f}x (target <= {TARGET_CPU}x): "
        f"{'PASS' if cpu_ratio <= TARGET_CPU else 'MISS'}",
        f"load average {load[0]:.2f} at start, {load[1]:.2f} at end "
        f"({os.cpu_count()} cores; other work on the machine slows both runs)",
    ]

    def cpu_of(prefix: str) -> float:
        return sum(r.cpu_s for r in b_steps if r.step.startswith(prefix))

    figures: dict[str, float | int | str] = {
        "source_s": shape.seconds, "chunk_s": shape.chunk_s,
        "chunks": sum(1 for r in b_steps if r.step.startswith("chunk")),
        "whole_cpu_s": a_cpu, "chunked_cpu_s": b_cpu, "whole_wall_s": a_wall,
        "chunked_wall_s": b_wall, "split_cpu_s": cpu_of("split"),
        "audio_cpu_s": cpu_of("audio"), "chunks_cpu_s": cpu_of("chunk"),
        "join_cpu_s": cpu_of("stitch: join"), "finish_cpu_s": cpu_of("stitch: package"),
        "wall_ratio": wall_ratio, "cpu_ratio": cpu_ratio,
        "load_start": load[0], "load_end": load[1],
        "when_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    return lines, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chunked")
    parser.add_argument("--quick", action="store_true",
                        help="12 s source in 2 s chunks: a smoke run, not the targets")
    args = parser.parse_args(argv)
    shape = QUICK if args.quick else FULL
    source = make_source(shape)
    load_start = os.getloadavg()[0]
    print(f"{shape.seconds} s 1080p{SOURCE_FPS} source, {shape.chunk_s} s chunks; "
          f"x264 threads 1 per worker, each worker pinned to a core; load average "
          f"{load_start:.2f}", flush=True)
    runs = CACHE / "chunked_runs"
    whole_dir, chunked_dir = runs / "a_whole", runs / "b_chunked"
    for d in (whole_dir, chunked_dir):
        worker.clear(d)
    whole = run_whole(source, shape, whole_dir)
    chunked = run_chunked(source, shape, chunked_dir)
    worker.check_same_assets(whole_dir / "out", chunked_dir / "out")
    lines, figures = report(shape, whole, chunked, steps(whole_dir), steps(chunked_dir),
                            (load_start, os.getloadavg()[0]))
    head = (f"# make bench-chunked{' --quick' if args.quick else ''}, "
            f"{figures['when_utc']}, load average {load_start:.2f} at start")
    text = "\n".join([head, *lines]) + "\n"
    print(text, end="")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{shape.name}.txt").write_text(text)
    (RESULTS / f"{shape.name}.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(f"wrote bench/results/{shape.name}.txt and .json")
    met = float(figures["wall_ratio"]) >= TARGET_WALL and float(figures["cpu_ratio"]) <= TARGET_CPU
    return 0 if met or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
