"""Packaging is its own step: CMAF files made elsewhere, here chunk outputs joined by stream
copy as a chunked job's stitch will join them, package into byte-range playlists that cover
every frame, and misaligned qualities are refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from processor.cmaf import MUXER_ARGS, read_index
from processor.hls import Misaligned
from processor.intake import intake
from processor.ladder import choose_ladder
from processor.packaging import package
from tests.support.cmaf import byte_ranges, packet_counts
from tests.support.media import make_clip

FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]


def _encode(source: Path, out: Path, *, start: float, length: float, size: str,
            gop: int = 20) -> Path:
    subprocess.run([*FFMPEG, "-ss", str(start), "-t", str(length), "-i", str(source),
                    "-vf", f"scale={size.replace('x', ':')}", "-c:v", "libx264",
                    "-preset", "ultrafast", "-g", str(gop), "-keyint_min", str(gop),
                    "-sc_threshold", "0", "-c:a", "aac", *MUXER_ARGS, str(out)], check=True)
    return out


def _join(chunks: list[Path], out: Path) -> Path:
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{c}'\n" for c in chunks))
    subprocess.run([*FFMPEG, "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    *MUXER_ARGS, str(out)], check=True)
    return out


def test_chunks_joined_by_stream_copy_package_like_one_run(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "source.mp4", duration=6.0, size="1280x720", rate=10)
    info = intake(source)
    rungs = choose_ladder(info.width, info.height)
    outdir = tmp_path / "out"
    outdir.mkdir()
    for rung in rungs:
        size = f"{rung.width}x{rung.height}"
        chunks = [_encode(source, tmp_path / f"{rung.name}-{i}.mp4", start=start, length=length,
                          size=size) for i, (start, length) in enumerate([(0, 4), (4, 2)])]
        _join(chunks, outdir / f"{rung.name}.mp4")
    assets = package(outdir, rungs, info)
    assert [a.type for a in assets] == ["mp4", "hls_playlist", "mp4", "hls_playlist",
                                        "hls_master"]
    for rung in rungs:
        media = outdir / f"{rung.name}.mp4"
        starts = [f.start_s for f in read_index(media).fragments]
        assert starts == pytest.approx([0.0, 2.0, 4.0], abs=0.05)
        uri, ranges = byte_ranges((outdir / "hls" / f"{rung.name}.m3u8").read_text())
        data = media.read_bytes()
        joined = tmp_path / f"joined-{rung.name}.mp4"
        joined.write_bytes(b"".join(data[start:start + length] for start, length in ranges))
        assert packet_counts(joined)["video"] == packet_counts(media)["video"] == 60


def test_qualities_whose_fragments_do_not_line_up_are_refused(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "source.mp4", duration=4.0, size="1280x720", rate=10)
    info = intake(source)
    rungs = choose_ladder(info.width, info.height)
    outdir = tmp_path / "out"
    outdir.mkdir()
    _encode(source, outdir / "480p.mp4", start=0, length=4, size="854x480", gop=20)
    _encode(source, outdir / "720p.mp4", start=0, length=4, size="1280x720", gop=15)
    with pytest.raises(Misaligned, match="not aligned"):
        package(outdir, rungs, info)
