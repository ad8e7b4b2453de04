"""Checks of a finished ladder against its source, measured with ffprobe/ffmpeg directly
(not through the pipeline's own code): what every output must be whatever came in.

``env`` picks the FFmpeg that measures (the one under test: the source may be in a codec
only that one decodes).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from processor.manifest import Manifest

Env = dict[str, str] | None


def run(cmd: list[str], env: Env) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def ffprobe(*args: str, env: Env = None) -> dict[str, Any]:
    proc = run(["ffprobe", "-v", "error", *args, "-of", "json"], env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@dataclass(frozen=True)
class Reference:
    """The source's chosen video as measured here: display aspect and decoded duration."""

    aspect: float
    duration_s: float


def reference(source: Path, index: int, env: Env = None) -> Reference:
    """Decode stream ``index`` of ``source`` in full: first decoded frame to the end of the
    last one, and the display aspect ratio (sample aspect and rotation applied)."""
    stream = ffprobe("-select_streams", str(index), "-show_streams", str(source),
                     env=env)["streams"][0]
    sar = Fraction(str(stream.get("sample_aspect_ratio") or "1:1").replace(":", "/") or "1")
    sar = sar if sar > 0 else Fraction(1)
    aspect = int(stream["width"]) * sar / int(stream["height"])
    rotation = next((float(s["rotation"]) for s in stream.get("side_data_list", [])
                     if "rotation" in s), 0.0)
    if round(rotation) % 180 == 90:
        aspect = 1 / aspect
    frames = ffprobe("-select_streams", str(index), "-show_entries",
                     "frame=best_effort_timestamp_time,duration_time,pkt_duration_time",
                     "-show_frames", str(source), env=env).get("frames", [])
    rate = Fraction(stream.get("r_frame_rate") or "25/1") or Fraction(25)
    times = [float(t) for f in frames
             if (t := f.get("best_effort_timestamp_time")) not in (None, "N/A")]
    if not times:
        return Reference(float(aspect), len(frames) / float(rate))
    last = frames[-1]
    tail = next((float(d) for key in ("duration_time", "pkt_duration_time")
                 if (d := last.get(key)) not in (None, "N/A")), 1 / float(rate))
    return Reference(float(aspect), max(times) + tail - min(times))


def check_ladder(outdir: Path, source: Path, *, interlaced: bool | None = None,
                 env: Env = None) -> Manifest:
    """Every MP4 of ``outdir`` against ``source``; returns the manifest."""
    manifest = Manifest.read(outdir)
    info = manifest.source
    ref = reference(source, info.video.index, env)
    mp4s = [a for a in manifest.assets if a.type == "mp4"]
    assert mp4s, "no MP4 in the manifest"
    for asset in mp4s:
        path = outdir / asset.path
        streams = ffprobe("-show_streams", "-show_format", str(path), env=env)
        video = next(s for s in streams["streams"] if s["codec_type"] == "video")
        audio = [s for s in streams["streams"] if s["codec_type"] == "audio"]
        width, height = int(video["width"]), int(video["height"])
        assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p"), path.name
        colours = [video.get(k) for k in ("color_range", "color_space", "color_primaries",
                                          "color_transfer")]
        assert colours == ["tv", "bt709", "bt709", "bt709"], f"{path.name}: {colours}"
        assert width % 2 == 0 and height % 2 == 0, f"{path.name}: {width}x{height}"
        assert video.get("sample_aspect_ratio", "1:1") in ("1:1", "0:1", "N/A")
        # Even dimensions round the aspect by up to a pixel on each side.
        slack = 2 / min(width, height) + 0.01
        assert abs(width / height - ref.aspect) / ref.aspect <= slack, (
            f"{path.name}: {width}x{height} vs display aspect {ref.aspect:.4f}")
        fps = float(Fraction(video["avg_frame_rate"]))
        frame = 1 / fps
        video_start, video_end = presented(path, "v", env)
        assert abs(video_end - video_start - ref.duration_s) <= 2 * frame + 0.02 * ref.duration_s, (
            f"{path.name}: {video_end - video_start:.3f} s of video for a "
            f"{ref.duration_s:.3f} s source")
        assert bool(audio) == info.has_audio, path.name
        for track in audio:
            audio_end = presented(path, "a", env)[1]
            assert abs(audio_end - video_end) <= frame + 1e-3, (
                f"{path.name}: audio ends at {audio_end:.3f} s, video at {video_end:.3f} s")
            assert (track["codec_name"], int(track["channels"])) == ("aac", 2)
        decodes_cleanly(path, env)
        if interlaced if interlaced is not None else info.video.interlaced:
            assert_progressive(path, env)
    for name in ("thumbnail.jpg", "preview.gif"):
        decodes_cleanly(outdir / name, env)
    return manifest


def presented(path: Path, kind: str, env: Env = None) -> tuple[float, float]:
    """When the first packet of the ``kind`` ("v"/"a") stream starts and the last one ends
    (packets, not the track header: a header may count encoder priming)."""
    data = ffprobe("-select_streams", f"{kind}:0", "-show_entries", "packet=pts_time,duration_time",
                   str(path), env=env)
    spans = [(float(p["pts_time"]), float(p.get("duration_time") or 0))
             for p in data.get("packets", []) if p.get("pts_time") not in (None, "N/A")]
    return max(0.0, min(t for t, _ in spans)), max(t + d for t, d in spans)


def decodes_cleanly(path: Path, env: Env = None) -> None:
    proc = run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i", str(path),
                "-f", "null", "-"], env)
    assert proc.returncode == 0 and not proc.stderr.strip(), f"{path.name}: {proc.stderr}"


_IDET = re.compile(r"Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*"
                   r"Progressive:\s*(\d+)\s*Undetermined:\s*(\d+)")


def idet_counts(path: Path, env: Env = None) -> tuple[int, int, int]:
    """(top-first, bottom-first, progressive) frames by FFmpeg's idet."""
    proc = run(["ffmpeg", "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v", "-vf",
                "idet", "-f", "null", "-"], env)
    tff, bff, progressive, _ = (int(n) for n in _IDET.findall(proc.stderr)[-1])
    return tff, bff, progressive


def assert_progressive(path: Path, env: Env = None) -> None:
    tff, bff, progressive = idet_counts(path, env)
    assert tff + bff <= 0.1 * (tff + bff + progressive), (
        f"{path.name} looks interlaced: TFF {tff}, BFF {bff}, progressive {progressive}")
