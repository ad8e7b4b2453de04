"""Checks that a chunked job's outputs are indistinguishable from an unchunked job's,
measured with ffprobe/ffmpeg directly (not through the pipeline's code), and the source
clips those tests chunk."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from processor.cmaf import read_index
from processor.manifest import Manifest

# A chunked quality's SSIM against the source may be this much below the unchunked one's.
MAX_SSIM_LOSS = 0.002
# The chunked job's media may be this much bigger in total.
MAX_SIZE_GROWTH = 0.03


def make_long_source(path: Path, *, seconds: float, size: str = "1280x720",
                     rate: str = "30000/1001", keyint: int = 90) -> Path:
    """A camera-like source: B-frames, keyframes every ``keyint`` frames (not on the
    output's 2 s GOPs), light temporal noise (so rate control has something to do), AAC
    audio that starts with the video."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=48000:duration={seconds}",
         "-vf", "noise=alls=8:allf=t+u", "-c:v", "libx264", "-preset", "superfast",
         "-g", str(keyint), "-keyint_min", str(keyint), "-sc_threshold", "0", "-bf", "2",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        check=True, timeout=900)
    return path


def _probe(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", *args, "-of", "json", str(path)],
                         check=True, capture_output=True, text=True, timeout=300).stdout
    return dict(json.loads(out))


@dataclass(frozen=True)
class Track:
    time_base: Fraction
    pts: list[int]  # every packet's pts, in file order
    keys: list[int]  # pts of the keyframe packets
    durations: list[int]
    sizes: list[int]

    @property
    def end(self) -> Fraction:
        last = max(range(len(self.pts)), key=lambda i: self.pts[i])
        return (self.pts[last] + self.durations[last]) * self.time_base


def track(path: Path, kind: str) -> Track:
    """The packets of ``path``'s first ``kind`` ("v"/"a") stream."""
    data = _probe(path, "-select_streams", f"{kind}:0", "-show_entries",
                  "stream=time_base:packet=pts,duration,size,flags")
    base = Fraction(data["streams"][0]["time_base"])
    packets = data["packets"]
    return Track(base, [int(p["pts"]) for p in packets],
                 [int(p["pts"]) for p in packets if "K" in p["flags"]],
                 [int(p.get("duration") or 0) for p in packets],
                 [int(p["size"]) for p in packets])


def ssim(output: Path, source: Path, width: int, height: int) -> float:
    """Mean SSIM (All) of ``output`` against ``source`` scaled to its size."""
    graph = (f"[1:v]scale={width}:{height}:flags=bicubic,format=yuv420p[ref];"
             "[0:v]format=yuv420p[out];[out][ref]ssim")
    err = subprocess.run(["ffmpeg", "-hide_banner", "-i", str(output), "-i", str(source),
                          "-lavfi", graph, "-f", "null", "-"],
                         capture_output=True, text=True, check=True, timeout=900).stderr
    line = next(line for line in reversed(err.splitlines()) if "SSIM" in line)
    return float(line.split("All:")[1].split()[0])


def media_sizes(outdir: Path, manifest: Manifest) -> dict[str, int]:
    return {a.quality: (outdir / a.path).stat().st_size for a in manifest.assets
            if a.type == "mp4"}


def check_indistinguishable(whole_dir: Path, chunked_dir: Path, source: Path, *,
                            sizes: bool = True) -> dict[str, Any]:
    """Assert the chunked outputs match the unchunked ones the way issue 10 asks; return
    the figures (per quality SSIM of both, sizes). ``sizes`` False: the size is reported,
    not checked (tiny test clips in tiny chunks)."""
    whole, chunked = Manifest.read(whole_dir), Manifest.read(chunked_dir)
    assert sorted((a.type, a.path) for a in chunked.assets) == \
        sorted((a.type, a.path) for a in whole.assets)
    figures: dict[str, Any] = {}
    starts: list[list[float]] = []
    for asset in whole.of_type("mp4"):
        a, b = whole_dir / asset.path, chunked_dir / asset.path
        va, vb = track(a, "v"), track(b, "v")
        # Same frame count and duration; timestamps continuous: each frame one frame
        # duration after the last, none missing, none twice.
        assert len(vb.pts) == len(va.pts), asset.quality
        step = vb.durations[0]
        assert sorted(vb.pts) == [vb.pts[0] + i * step for i in range(len(vb.pts))]
        assert vb.time_base * step == va.time_base * va.durations[0]
        assert vb.end == va.end, asset.quality
        # Keyframes where the unchunked encode has them, fragments (HLS segments) too.
        assert [k * vb.time_base for k in vb.keys] == [k * va.time_base for k in va.keys]
        fragments = [round(f.start_s, 6) for f in read_index(b).fragments]
        assert fragments == [round(f.start_s, 6) for f in read_index(a).fragments]
        starts.append(fragments)
        # Audio and video end together (within one frame), as in the unchunked output.
        if whole.source.has_audio:
            ab = track(b, "a")
            assert abs(ab.end - vb.end) <= step * vb.time_base, asset.quality
            assert ab.sizes == track(a, "a").sizes  # the same AAC packets
        width, height = asset.width or 0, asset.height or 0
        figures[asset.quality] = {"ssim_whole": ssim(a, source, width, height),
                                  "ssim_chunked": ssim(b, source, width, height)}
    assert all(s == starts[0] for s in starts)  # aligned across qualities
    for quality, f in figures.items():
        assert f["ssim_chunked"] >= f["ssim_whole"] - MAX_SSIM_LOSS, (quality, f)
    size_whole = sum(media_sizes(whole_dir, whole).values())
    size_chunked = sum(media_sizes(chunked_dir, chunked).values())
    figures["size_growth"] = size_chunked / size_whole - 1
    assert not sizes or figures["size_growth"] <= MAX_SIZE_GROWTH, figures
    return figures
