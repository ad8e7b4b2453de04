"""bench-transcode's passthrough rows: one compliant source, transcoded twice in the same run.

The source is what an editor exports: H.264 High, CFR 24 fps, keyframes every 2 s, within
the 1080p rung's cap (VBV 4.5 Mb/s over 9 Mbit), AAC stereo. (d) is today's full transcode
of it (passthrough off), (e) the pipeline as the worker runs it, which copies the video
into the 1080p rung and encodes 480p and 720p with keyframes at the source's. Target: (e)
at least 1.8x faster than (d) (issue 11; about 2x is the limit, as the lower rungs and the
decode remain), with the source's packets unchanged in the 1080p file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from processor.encode import EncodeSettings
from processor.ffmpeg import run_ffmpeg
from processor.intake import intake
from processor.ladder import choose_ladder
from processor.passthrough import plan
from processor.transcode import transcode
from processor.transcode_settings import TranscodeSettings

CLIPS = {"1080p": (1920, 1080, 20)}
TARGET_SPEEDUP = 1.8
SOURCE_ENCODE = ["-c:v", "libx264", "-preset", "superfast", "-profile:v", "high",
                 "-crf", "20", "-maxrate", "4500k", "-bufsize", "9000k", "-g", "48",
                 "-keyint_min", "48", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
                 "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
                 "-c:a", "aac", "-b:a", "160k", "-ac", "2", "-movflags", "+faststart"]
SOURCE_FILTER = "noise=alls=4:allf=t+u"


def make_source(name: str, cache: Path) -> Path:
    width, height, seconds = CLIPS[name]
    seconds = int(os.environ.get("VF_BENCH_SECONDS", seconds))
    path = cache / f"passthrough_{name}_{seconds}s.mp4"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} (cached for later runs)…", file=sys.stderr, flush=True)
        partial = path.with_suffix(".part.mp4")
        run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=24",
                    "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000",
                    "-t", str(seconds), "-vf", SOURCE_FILTER, *SOURCE_ENCODE, str(partial)])
        partial.rename(path)
    return path


def _payloads(path: Path) -> list[str]:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path),
                          "-map", "0:v:0", "-c", "copy", "-bsf:v", "h264_mp4toannexb",
                          "-f", "framemd5", "-"], check=True, capture_output=True,
                         text=True).stdout
    return [line.split(",")[5].strip() for line in out.splitlines()
            if line and not line.startswith("#")]


def run(name: str, settings: EncodeSettings, work: Path, cache: Path,
        cpu_seconds: Callable[[], float]) -> list[str]:
    source = make_source(name, cache)
    info = intake(source)
    decision = plan(source, info, choose_ladder(info.width, info.height))
    rows = []
    for method, passthrough in (("d full", False), ("e passthrough", True)):
        outdir = work / f"{name}-passthrough" / method.split()[0]
        shutil.rmtree(outdir, ignore_errors=True)
        print(f"{name} (compliant source): {method}…", file=sys.stderr, flush=True)
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        transcode(source, outdir, settings=TranscodeSettings(encode=settings,
                                                             passthrough=passthrough))
        rows.append((method, time.perf_counter() - wall0, cpu_seconds() - cpu0, outdir))
    top = choose_ladder(info.width, info.height)[-1].name
    unchanged = _payloads(rows[1][3] / f"{top}.mp4") == _payloads(source)
    print(f"\n== {name} compliant source (passthrough) ==\n"
          f"{'method':<16}{'wall s':>8}{'cpu s':>8}")
    for method, wall, cpu, _ in rows:
        print(f"{method:<16}{wall:>8.1f}{cpu:>8.1f}")
    (_, full_wall, full_cpu, _), (_, pt_wall, pt_cpu, _) = rows
    speedup = full_wall / pt_wall
    checks = [
        (f"passthrough taken: {decision.taken} {'; '.join(decision.reasons)}", decision.taken,
         "taken"),
        (f"speed-up d/e (wall) {speedup:.2f}x", speedup >= TARGET_SPEEDUP,
         f">= {TARGET_SPEEDUP}x"),
        (f"cpu-speedup d/e {full_cpu / pt_cpu:.2f}x", True, "info"),
        (f"{top} packets are the source's: {unchanged}", unchanged, "unchanged"),
    ]
    lines = []
    for text, ok, target in checks:
        verdict = "" if target == "info" else ("ok  " if ok else "MISS")
        lines.append(f"{name}: {verdict:4} {text}  (target {target})")
        print(lines[-1])
    return lines
