"""A full transcode, checked with ffprobe: qualities, keyframes, CMAF layout, byte-range HLS,
previews."""

from __future__ import annotations

import json
import re
import struct
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from common.models import AssetKind
from processor.cmaf import read_index
from processor.encode import encode_args, timeline
from processor.ffmpeg import run_ffmpeg
from processor.intake import intake
from processor.ladder import choose_ladder
from processor.manifest import Manifest
from processor.previews import preview_window
from processor.progress import Progress
from processor.transcode import transcode
from tests.support.cmaf import byte_ranges, packet_counts
from tests.support.media import keyframe_times, probe_streams, video_stream
from tests.support.transcoding import FAST

Clip = Callable[[str], Path]


@pytest.fixture(scope="module")
def result(clip: Clip, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, Manifest, list[Progress]]:
    outdir = tmp_path_factory.mktemp("ladder_out")
    events: list[Progress] = []
    manifest = transcode(clip("ladder"), outdir, settings=FAST, on_progress=events.append)
    return outdir, manifest, events


def top_level_boxes(path: Path) -> list[str]:
    names, data, pos = [], path.read_bytes(), 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        names.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return names


def test_every_quality_is_h264_yuv420p_with_aac(result: tuple[Path, Manifest, list[Progress]]
                                                ) -> None:
    outdir, _, _ = result
    for name, size in [("480p", (854, 480)), ("720p", (1280, 720))]:
        info = probe_streams(outdir / f"{name}.mp4")
        video = video_stream(info)
        assert (video["width"], video["height"]) == size
        assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
        assert video["r_frame_rate"] == video["avg_frame_rate"] == "10/1"
        assert [s["codec_name"] for s in info["streams"] if s["codec_type"] == "audio"] == ["aac"]
        assert float(info["format"]["duration"]) == pytest.approx(3.0, abs=0.15)
    assert not (outdir / "1080p.mp4").exists()  # never upscaled


def test_keyframes_are_aligned_every_two_seconds(result: tuple[Path, Manifest, list[Progress]]
                                                 ) -> None:
    outdir, _, _ = result
    times = [keyframe_times(outdir / f"{q}.mp4") for q in ("480p", "720p")]
    assert times[0] == times[1] == pytest.approx([0.0, 2.0])
    starts = [[f.start_s for f in read_index(outdir / f"{q}.mp4").fragments]
              for q in ("480p", "720p")]
    assert starts[0] == starts[1] == pytest.approx([0.0, 2.0])


def test_mp4s_are_faststart(result: tuple[Path, Manifest, list[Progress]]) -> None:
    outdir, _, _ = result
    for q in ("480p", "720p"):
        boxes = top_level_boxes(outdir / f"{q}.mp4")
        assert boxes.index("moov") < boxes.index("mdat"), boxes


def test_hls_master_lists_every_quality(result: tuple[Path, Manifest, list[Progress]]) -> None:
    outdir, _, _ = result
    master = (outdir / "hls" / "master.m3u8").read_text()
    variants = re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)", master)
    assert [uri for _, uri in variants] == ["480p.m3u8", "720p.m3u8"]
    for (attrs, _), resolution in zip(variants, ["854x480", "1280x720"], strict=True):
        assert f"RESOLUTION={resolution}" in attrs
        assert int(re.search(r"(?<!-)BANDWIDTH=(\d+)", attrs).group(1)) > 0
        assert re.search(r'CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"', attrs)


def test_each_quality_is_one_cmaf_file_with_a_segment_index(
        result: tuple[Path, Manifest, list[Progress]]) -> None:
    outdir, _, _ = result
    for q in ("480p", "720p"):
        boxes = top_level_boxes(outdir / f"{q}.mp4")
        assert boxes[:2] == ["ftyp", "moov"] and boxes[2] == "sidx", boxes
        # One fragment per 2 s GOP: 3 s of video is two of them, audio muxed into each.
        assert boxes.count("moof") == boxes.count("mdat") == 2, boxes
    assert sorted(p.name for p in (outdir / "hls").iterdir()) == [
        "480p.m3u8", "720p.m3u8", "master.m3u8"]  # playlists only: no second copy


def test_byte_range_playlists_cover_every_frame(
        result: tuple[Path, Manifest, list[Progress]], tmp_path: Path) -> None:
    outdir, _, _ = result
    for q in ("480p", "720p"):
        playlist = outdir / "hls" / f"{q}.m3u8"
        text = playlist.read_text()
        assert text.startswith("#EXTM3U\n#EXT-X-VERSION:8\n") and "#EXT-X-ENDLIST" in text
        total = sum(float(d) for d in re.findall(r"#EXTINF:([\d.]+)", text))
        assert total == pytest.approx(3.0, abs=0.15)
        uri, ranges = byte_ranges(text)
        media = (playlist.parent / uri).resolve()
        assert media == (outdir / f"{q}.mp4").resolve()
        data = media.read_bytes()
        joined = tmp_path / f"joined_{q}.mp4"
        joined.write_bytes(b"".join(data[start:start + length] for start, length in ranges))
        # The segments are contiguous after the index: they leave out only the sidx.
        assert ranges[1][0] + sum(n for _, n in ranges[1:]) == len(data) - _trailer(data)
        assert packet_counts(joined) == packet_counts(media)


def _trailer(data: bytes) -> int:
    """Bytes of the trailing mfra box (the fragment random-access index), if any."""
    size = struct.unpack(">I", data[-4:])[0]  # mfro, the last box, gives mfra's size
    return size if data[-size + 4:-size + 8] == b"mfra" else 0


def test_thumbnail_and_gif_come_from_the_smallest_quality(
        result: tuple[Path, Manifest, list[Progress]]) -> None:
    outdir, _, _ = result
    jpeg = video_stream(probe_streams(outdir / "thumbnail.jpg"))
    assert (jpeg["codec_name"], jpeg["width"], jpeg["height"]) == ("mjpeg", 854, 480)
    gif = probe_streams(outdir / "preview.gif")
    stream = video_stream(gif)
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("gif", 320, 180)
    assert float(gif["format"]["duration"]) > 1.0  # animated, not a single frame


def test_the_encode_run_cuts_the_poster_and_gif_from_the_smallest_quality(
        clip: Clip, tmp_path: Path) -> None:
    """No second decode for them: the one run writes them beside the qualities, from the
    smallest quality's frames, picked by frame number (the window of preview_window)."""
    source = clip("ladder")
    info = intake(source)
    rungs = choose_ladder(info.width, info.height)
    timing = timeline(info)
    args = encode_args(source, [tmp_path / f"{r.name}.mp4" for r in rungs], info, rungs,
                       FAST.encode, timing, previews=tmp_path)
    assert args[-1] == str(tmp_path / "preview.gif") and str(tmp_path / "thumbnail.jpg") in args
    graph = args[args.index("-filter_complex") + 1]
    start, length = preview_window(timing.seconds, float(timing.rate))
    first = round(start * timing.rate)
    end = first + round(length * timing.rate)
    assert f"[pv]format=yuv420p,trim=start_frame={first}:end_frame={end}," in graph
    smallest = min(range(len(rungs)), key=lambda i: rungs[i].pixels)
    assert f"[v{smallest}]split=2[v{smallest}e][pv]" in graph


def test_cutting_the_previews_leaves_the_smallest_quality_unchanged(
        clip: Clip, tmp_path: Path) -> None:
    # The preview branch shares the smallest rung's frames: it must not change the pixel
    # format they are negotiated in (the JPEG encoder's full-range yuvj420p once did).
    source = clip("ladder")
    info = intake(source)
    rungs = choose_ladder(info.width, info.height)
    timing = timeline(info)
    # One x264 thread: frames compared bit for bit need a run that repeats exactly (one
    # frame of 90 differed once on a loaded machine with threads of FFmpeg's choosing;
    # the pixel-format fault this guards against changed every frame).
    settings = replace(FAST.encode, threads=1)
    decoded = []
    for previews in (None, tmp_path):
        outdir = tmp_path / ("with" if previews else "without")
        outdir.mkdir()
        run_ffmpeg(encode_args(source, [outdir / f"{r.name}.mp4" for r in rungs], info, rungs,
                               settings, timing, previews=previews))
        decoded.append(_frame_hashes(outdir / "480p.mp4"))
    assert decoded[0] == decoded[1]


def _frame_hashes(path: Path) -> list[str]:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path),
                          "-map", "0:v:0", "-f", "framemd5", "-"], check=True,
                         capture_output=True, text=True).stdout
    return [line.split(",")[-1].strip() for line in out.splitlines()
            if line and not line.startswith("#")]


def test_manifest_lists_every_asset(result: tuple[Path, Manifest, list[Progress]]) -> None:
    outdir, manifest, _ = result
    assert Manifest.from_json((outdir / "manifest.json").read_text()) == manifest
    kinds = sorted((a.type, a.quality) for a in manifest.assets)
    assert kinds == sorted([("mp4", "480p"), ("mp4", "720p"), ("hls_playlist", "480p"),
                            ("hls_playlist", "720p"), ("hls_master", ""), ("thumbnail", ""),
                            ("preview", ""), ("storyboard", ""), ("storyboard_vtt", ""),
                            ("manifest", "")])
    for asset in manifest.assets:
        assert (outdir / asset.path).is_file()
        assert asset.size == (outdir / asset.path).stat().st_size
    mp4 = {a.quality: a for a in manifest.of_type(AssetKind.MP4)}
    assert (mp4["720p"].width, mp4["720p"].height) == (1280, 720)
    assert mp4["720p"].bitrate > mp4["480p"].bitrate > 0
    assert mp4["480p"].duration == pytest.approx(3.0, abs=0.15)
    source = json.loads((outdir / "manifest.json").read_text())["source"]
    assert (source["name"], source["width"], source["height"]) == ("ladder.mp4", 1280, 720)


def test_progress_goes_up_to_one(result: tuple[Path, Manifest, list[Progress]]) -> None:
    _, _, events = result
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(e.speed for e in events)


def test_the_caller_hears_what_intake_measured_before_the_encode(clip: Clip, tmp_path: Path
                                                                 ) -> None:
    heard: list[tuple[float, bool]] = []
    transcode(clip("small"), tmp_path, settings=FAST,
              on_intake=lambda info: heard.append((info.duration_s, (tmp_path / "manifest.json")
                                                   .exists())))
    assert heard == [(pytest.approx(1.0, abs=0.1), False)]
