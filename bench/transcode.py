"""Benchmark: the one-run ladder against the naive way and against one hand-written command.

    python -m bench.transcode          (make bench-transcode)

For a 20 s 1080p and a 10 s 4K noisy source it runs, with the same x264 settings
(VF_X264_PRESET, default veryfast):

  (a) naive    the way before one run and CMAF: one FFmpeg run per quality from the
               source into a faststart MP4, a second copy of each cut into HLS segments,
               then a thumbnail run and a GIF run from the source;
  (b) ladder   ``processor.transcode.transcode`` (what the worker runs): one CMAF file per
               quality that is also the HLS variant (byte ranges), poster and GIF cut in
               the same run from the smallest quality's frames;
  (c) single   one hand-written FFmpeg command writing every file at once (the same CMAF
               files, poster and GIF from the smallest branch): the compute limit.

and prints wall and CPU seconds (children's rusage), total output bytes (and per source
minute: what storage costs) and SSIM of each quality against the source scaled to that
size, and what intake alone costs beside (b) (its ffprobe runs and its parsing, run again
on their own). For the 1080p clip it then runs bench/transcode_passthrough.py's rows: a
compliant source transcoded in full (d) and with its video copied into the top rung (e).
Sources are cached in bench/.cache/.
Environment: VF_BENCH_CLIPS=1080p,2160p selects clips; VF_BENCH_SECONDS overrides the clip
lengths (quick smoke runs); VF_BENCH_SSIM_EVERY=4 compares every 4th frame.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import transcode_passthrough
from processor.cmaf import MUXER_ARGS
from processor.demuxers import input_args
from processor.encode import (
    EncodeSettings,
    codec_args,
    ladder_graph,
    stream_maps,
    timeline,
    with_previews,
)
from processor.ffmpeg import run_ffmpeg
from processor.intake import intake
from processor.ladder import Rung, choose_ladder, smallest_rung
from processor.packaging import package
from processor.previews import (
    GIF_ARGS,
    JPEG_ARGS,
    PREVIEW_NAME,
    THUMBNAIL_NAME,
    gif_filter,
    preview_window,
)
from processor.settings import ProcessorSettings
from processor.source_info import SourceInfo
from processor.storyboard import make_storyboard
from processor.transcode import transcode
from processor.transcode_settings import TranscodeSettings

CACHE = Path(__file__).resolve().parent / ".cache"
# name: (width, height, seconds)
CLIPS = {"1080p": (1920, 1080, 20), "2160p": (3840, 2160, 10)}
SOURCE_FPS = 24
# Film-like grain: light temporal noise, encoded the way a camera would (High profile, CABAC).
SOURCE_FILTER = "noise=alls=6:allf=t+u"
SOURCE_ENCODE = ["-c:v", "libx264", "-preset", "superfast", "-crf", "22", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-b:a", "192k"]
TARGET_SPEEDUP = {"1080p": 1.4, "2160p": 1.7}
MAX_SSIM_LOSS, MAX_SIZE_GROWTH, MAX_CPU_OVER_LIMIT = 0.005, 0.10, 0.10
# Storage per source minute against the layout before CMAF (issue 11).
MAX_STORAGE_RATIO = 0.55
# The storyboard's share of a job's CPU (issue 11).
MAX_STORYBOARD_SHARE = 0.03
# Intake's share of the transcode's CPU (issue 9).
MAX_INTAKE_SHARE = 0.03
# How the layout before CMAF stored each quality: a faststart MP4, then its HLS copy.
LEGACY_MP4_ARGS = ("-movflags", "+faststart", "-f", "mp4")
LEGACY_SEGMENT_S = 6


@dataclass
class Result:
    method: str
    wall_s: float
    cpu_s: float
    size: int  # everything stored: media, playlists, previews, manifest
    mp4_size: int  # the per-quality MP4s alone (the encoder's output)
    minutes: float  # of source
    ssim: dict[str, float] = field(default_factory=dict)
    note: str = ""
    storyboard_cpu_s: float = 0.0  # of this method's run, measured again on its own (b only)
    intake_cpu_s: float = 0.0  # intake of the source, measured again on its own (b only)


def make_source(name: str) -> Path:
    width, height, seconds = CLIPS[name]
    seconds = int(os.environ.get("VF_BENCH_SECONDS", seconds))
    return cached_source(CACHE / f"source_{name}_{seconds}s.mp4", width, height, seconds)


def cached_source(path: Path, width: int, height: int, seconds: int, *extra: str) -> Path:
    """``path``, generated once (test pattern with film-like grain and a tone; ``extra``:
    more encoder options) and kept for later runs."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} (cached for later runs)…", file=sys.stderr, flush=True)
        partial = path.with_suffix(".part.mp4")
        run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={SOURCE_FPS}",
                    "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000",
                    "-t", str(seconds), "-vf", SOURCE_FILTER, *SOURCE_ENCODE, *extra,
                    str(partial)])
        partial.rename(path)
    return path


# --- (a) the naive way -------------------------------------------------------------------
def naive(source: Path, outdir: Path, info: SourceInfo, rungs: list[Rung],
          settings: EncodeSettings) -> None:
    timing = timeline(info)
    for rung in rungs:
        graph = ladder_graph(info, [rung], timing)
        run_ffmpeg([*input_args(source, info.container), "-filter_complex", graph.text,
                    *stream_maps(graph, 0), *codec_args(rung, info, settings, timing),
                    *LEGACY_MP4_ARGS, str(outdir / f"{rung.name}.mp4")])
    run_ffmpeg(legacy_hls_args(outdir, rungs))
    small = rungs[0]
    start, length = preview_window(info.duration_s)
    run_ffmpeg(["-ss", f"{start:.3f}", "-i", str(source), "-vf",
                f"scale={small.width}:{small.height}", *JPEG_ARGS, str(outdir / THUMBNAIL_NAME)])
    run_ffmpeg(["-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(source),
                "-filter_complex", gif_filter(small.width, small.height, "0:v", "gif"),
                "-map", "[gif]", *GIF_ARGS, str(outdir / PREVIEW_NAME)])


def legacy_hls_args(outdir: Path, rungs: list[Rung]) -> list[str]:
    """The MP4s cut by stream copy into fMP4 HLS segments: the second copy CMAF removed."""
    args: list[str] = []
    for rung in rungs:
        args += ["-i", str(outdir / f"{rung.name}.mp4")]
    for index, rung in enumerate(rungs):
        folder = outdir / "hls" / rung.name
        folder.mkdir(parents=True, exist_ok=True)
        args += ["-map", str(index), "-c", "copy", "-f", "hls",
                 "-hls_time", str(LEGACY_SEGMENT_S), "-hls_playlist_type", "vod",
                 "-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
                 "-hls_segment_filename", str(folder / "segment_%04d.m4s"),
                 str(folder / "index.m3u8")]
    return args


# --- (b) videoforge -------------------------------------------------------------------------
def ladder(source: Path, outdir: Path, info: SourceInfo, rungs: list[Rung],
           settings: EncodeSettings) -> None:
    transcode(source, outdir, settings=TranscodeSettings(encode=settings))


# --- (c) one hand-written command -------------------------------------------------------
def single(source: Path, outdir: Path, info: SourceInfo, rungs: list[Rung],
           settings: EncodeSettings) -> None:
    timing = timeline(info)
    graph, previews = with_previews(ladder_graph(info, rungs, timing), rungs, timing, outdir)
    args = [*input_args(source, info.container), "-filter_complex", graph.text]
    for index, rung in enumerate(rungs):
        args += [*stream_maps(graph, index), *codec_args(rung, info, settings, timing),
                 *MUXER_ARGS, str(outdir / f"{rung.name}.mp4")]
    run_ffmpeg([*args, *previews])
    package(outdir, rungs, info)
    make_storyboard(outdir / f"{rungs[0].name}.mp4", outdir, width=rungs[0].width,
                    height=rungs[0].height, duration_s=info.duration_s)


METHODS: dict[str, Callable[[Path, Path, SourceInfo, list[Rung], EncodeSettings], None]] = {
    "a naive": naive, "b videoforge": ladder, "c single cmd": single,
}


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def ssim(source: Path, outdir: Path, rungs: list[Rung], every: int) -> dict[str, float]:
    """Mean SSIM (All) of each quality against the source scaled bicubic to its size,
    on every ``every``-th frame. One FFmpeg run decodes the source once for all qualities."""
    pick = f"select=not(mod(n\\,{every}))"
    parts = [f"[0:v]{pick},split={len(rungs)}" + "".join(f"[r{i}]" for i in range(len(rungs)))]
    inputs = ["-i", str(source)]
    outputs: list[str] = []
    for i, rung in enumerate(rungs):
        inputs += ["-i", str(outdir / f"{rung.name}.mp4")]
        stats = outdir / f"ssim_{rung.name}.log"
        parts += [f"[r{i}]scale={rung.width}:{rung.height}:flags=bicubic,format=yuv420p[s{i}]",
                  f"[{i + 1}:v]{pick}[d{i}]", f"[d{i}][s{i}]ssim=stats_file={stats}[o{i}]"]
        outputs += ["-map", f"[o{i}]", "-f", "null", "-"]
    run_ffmpeg([*inputs, "-filter_complex", ";".join(parts), *outputs])
    result = {}
    for rung in rungs:
        values = [float(tok.split(":")[1]) for line in
                  (outdir / f"ssim_{rung.name}.log").read_text().splitlines()
                  for tok in line.split() if tok.startswith("All:")]
        result[rung.name] = sum(values) / len(values)
    return result


def run_clip(name: str, settings: EncodeSettings, every: int, work: Path) -> list[Result]:
    source = make_source(name)
    info = intake(source)
    rungs = choose_ladder(info.width, info.height)
    results = []
    for method, fn in METHODS.items():
        outdir = work / name / method.split()[0]
        shutil.rmtree(outdir, ignore_errors=True)
        outdir.mkdir(parents=True)
        print(f"{name}: {method}…", file=sys.stderr, flush=True)
        cpu0, wall0 = children_cpu_s(), time.perf_counter()
        fn(source, outdir, info, rungs, settings)
        wall, cpu = time.perf_counter() - wall0, children_cpu_s() - cpu0
        results.append(Result(method, wall, cpu, tree_size(outdir),
                              sum((outdir / f"{r.name}.mp4").stat().st_size for r in rungs),
                              info.duration_s / 60))
    results[1].storyboard_cpu_s = storyboard_cpu(work / name / "b", rungs, info)
    results[1].intake_cpu_s = intake_cpu(source)
    # Quality afterwards, so it never competes with the timed runs. Byte-identical MP4s
    # (the same frames through the same encoder settings) share one SSIM measurement.
    measured: dict[str, dict[str, float]] = {}
    for result in results:
        outdir = work / name / result.method.split()[0]
        key = mp4_digest(outdir, rungs)
        if key not in measured:
            measured[key] = ssim(source, outdir, rungs, every)
        else:
            result.note = "MP4s identical to an earlier method"
        result.ssim = measured[key]
    return results


def storyboard_cpu(outdir: Path, rungs: list[Rung], info: SourceInfo) -> float:
    """CPU seconds of the storyboard step alone, made again from (b)'s smallest quality."""
    smallest = smallest_rung(rungs)
    again = outdir / "storyboard-again"
    again.mkdir(exist_ok=True)
    cpu0 = children_cpu_s()
    make_storyboard(outdir / f"{smallest.name}.mp4", again, width=smallest.width,
                    height=smallest.height, duration_s=info.duration_s)
    cpu = children_cpu_s() - cpu0
    shutil.rmtree(again)
    return cpu


def intake_cpu(source: Path) -> float:
    """CPU seconds of intake alone: its ffprobe runs and its own parsing of their output."""
    cpu0 = children_cpu_s() + self_cpu_s()
    intake(source)
    return children_cpu_s() + self_cpu_s() - cpu0


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mp4_digest(outdir: Path, rungs: list[Rung]) -> str:
    digest = hashlib.sha256()
    for rung in rungs:
        with (outdir / f"{rung.name}.mp4").open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def report(name: str, results: list[Result]) -> list[str]:
    qualities = list(results[0].ssim)
    head = f"{'method':<14}{'wall s':>8}{'cpu s':>8}{'MB':>8}{'MB/src min':>12}" + "".join(
        f"{'ssim ' + q:>12}" for q in qualities)
    print(f"\n== {name} source ==\n{head}")
    for r in results:
        print(f"{r.method:<14}{r.wall_s:>8.1f}{r.cpu_s:>8.1f}{r.size / 1e6:>8.1f}"
              f"{r.size / 1e6 / r.minutes:>12.1f}"
              + "".join(f"{r.ssim[q]:>12.4f}" for q in qualities)
              + (f"  ({r.note})" if r.note else ""))
    a, b, c = results
    speedup, cpu_over = a.wall_s / b.wall_s, b.cpu_s / c.cpu_s - 1
    ssim_loss = max(a.ssim[q] - b.ssim[q] for q in qualities)
    growth = b.mp4_size / a.mp4_size - 1
    storage = b.size / a.size
    checks = [
        (f"speed-up a/b (wall) {speedup:.2f}x", speedup >= TARGET_SPEEDUP[name],
         f">= {TARGET_SPEEDUP[name]}x"),
        (f"cpu-speedup a/b {a.cpu_s / b.cpu_s:.2f}x", True, "info"),
        (f"b vs c cpu {cpu_over:+.1%}", cpu_over <= MAX_CPU_OVER_LIMIT,
         f"<= +{MAX_CPU_OVER_LIMIT:.0%}"),
        (f"ssim loss b vs a {ssim_loss:+.4f}", ssim_loss <= MAX_SSIM_LOSS, f"<= {MAX_SSIM_LOSS}"),
        (f"MP4 bytes b vs a {growth:+.1%}", growth <= MAX_SIZE_GROWTH,
         f"<= +{MAX_SIZE_GROWTH:.0%}"),
        (f"storage per source minute b/a {storage:.2f}x", storage <= MAX_STORAGE_RATIO,
         f"<= {MAX_STORAGE_RATIO}x"),
        (f"storyboard share of b's cpu {b.storyboard_cpu_s / b.cpu_s:.1%}",
         b.storyboard_cpu_s / b.cpu_s <= MAX_STORYBOARD_SHARE, f"<= {MAX_STORYBOARD_SHARE:.0%}"),
        (f"intake share of b's cpu {b.intake_cpu_s / b.cpu_s:.1%} "
         f"({b.intake_cpu_s:.2f} of {b.cpu_s:.1f} s)",
         b.intake_cpu_s / b.cpu_s <= MAX_INTAKE_SHARE, f"<= {MAX_INTAKE_SHARE:.0%}"),
    ]
    lines = []
    for text, ok, target in checks:
        verdict = "" if target == "info" else ("ok  " if ok else "MISS")
        lines.append(f"{name}: {verdict:4} {text}  (target {target})")
        print(lines[-1])
    return lines


def main() -> int:
    settings = EncodeSettings(preset=ProcessorSettings().x264_preset)
    names = os.environ.get("VF_BENCH_CLIPS", ",".join(CLIPS)).split(",")
    every = int(os.environ.get("VF_BENCH_SSIM_EVERY", "4"))
    work = CACHE / "runs"
    print(f"{_ffmpeg_version()}; x264 preset {settings.preset}, crf {settings.crf}; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    started = time.perf_counter()
    for name in names:
        report(name, run_clip(name.strip(), settings, every, work))
        if name.strip() in transcode_passthrough.CLIPS:
            transcode_passthrough.run(name.strip(), settings, work, CACHE, children_cpu_s)
    print(f"\nload average {os.getloadavg()[0]:.1f} at end; "
          f"bench took {time.perf_counter() - started:.0f} s", flush=True)
    return 0


def _ffmpeg_version() -> str:
    return subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split(
        "\n", 1)[0]


if __name__ == "__main__":
    sys.exit(main())
