"""HLS from a private bucket: the master's variants come back through this service with a
playback grant, the variants list presigned init/segment URLs, and a stock HLS player
(ffmpeg's HLS demuxer) plays the whole chain with no credentials and nothing public."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from common.models import AssetKind, Visibility
from streaming.app import create_app
from streaming.hls import resolve_key, rewrite_uris
from tests.support.media import probe_streams
from tests.support.videos import insert_video, publish
from videoforge.stack.net import free_port


def _uris(playlist: str) -> list[str]:
    out = []
    for line in playlist.splitlines():
        if line.startswith("#EXT-X-MAP:"):
            out.append(line.split('URI="', 1)[1].split('"', 1)[0])
        elif line and not line.startswith("#"):
            out.append(line)
    return out


def test_rewrite_handles_uri_lines_and_attributes() -> None:
    text = '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1,\nseg_0.m4s\n\nhttps://cdn/x.m4s\n'
    out = rewrite_uris(text, lambda uri: f"<{uri}>")
    assert '#EXT-X-MAP:URI="<init.mp4>"' in out and "<seg_0.m4s>" in out
    assert resolve_key("videos/v/j/hls/master.m3u8", "720p/index.m3u8") == \
        "videos/v/j/hls/720p/index.m3u8"
    assert resolve_key("videos/v/j/hls/720p/index.m3u8", "https://cdn/x.m4s") is None


def test_private_master_followed_without_credentials(client, streaming_settings, cognito,
                                                     s3) -> None:
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                         visibility=Visibility.PRIVATE)
    publish(streaming_settings.database_url, s3, video=video,
            bucket=streaming_settings.media_bucket)
    assert client.get(f"/api/stream/{video.id}/master.m3u8").status_code == 404
    auto = client.get(f"/api/stream/{video.id}", params={"quality": "auto"},
                      headers=cognito.headers("owner")).json()
    master = client.get(auto["url"])  # no Authorization: the grant is the credential
    assert master.status_code == 200
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    variants = _uris(master.text)
    assert [v.split("?")[0] for v in variants] == ["hls/480p/index.m3u8", "hls/720p/index.m3u8"]
    base = auto["url"].split("master.m3u8")[0]
    variant = client.get(base + variants[1])
    assert variant.status_code == 200
    init, segment = _uris(variant.text)
    assert httpx.get(init).content == b"init-720p" and httpx.get(segment).content == b"seg-720p"
    # A grant is for one video and cannot be forged or reused elsewhere.
    forged = variants[1].rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    assert client.get(base + forged).status_code == 404


def _ffmpeg_hls(out: Path) -> None:
    """Two fMP4 HLS variants (240p, 120p) with a master, as the worker lays them out."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x240:rate=25:duration=2", "-filter_complex",
         "[0:v]split=2[a][b];[b]scale=160:120[b2]", "-map", "[a]", "-map", "[b2]",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-b:v:0", "300k",
         "-b:v:1", "150k", "-f", "hls", "-hls_time", "1", "-hls_segment_type", "fmp4",
         "-hls_playlist_type", "vod", "-master_pl_name", "master.m3u8",
         "-hls_segment_filename", "%v/seg_%03d.m4s", "-var_stream_map",
         "v:0,name:240p v:1,name:120p", "%v/index.m3u8"],
        cwd=out, check=True)


@pytest.fixture
def live_server(streaming_settings) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(streaming_settings), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def test_stock_player_plays_real_hls_from_private_bucket(live_server, streaming_settings,
                                                         cognito, s3, tmp_path) -> None:
    hls_dir = tmp_path / "hls"
    hls_dir.mkdir()
    _ffmpeg_hls(hls_dir)
    files = [(AssetKind.HLS_MASTER, "", "hls/master.m3u8",
              (hls_dir / "master.m3u8").read_bytes())]
    for path in sorted(hls_dir.rglob("*")):
        if path.is_file() and path.name != "master.m3u8":
            quality = path.parent.name
            kind = AssetKind.HLS_PLAYLIST if path.name == "index.m3u8" else None
            files.append((kind, quality, f"hls/{quality}/{path.name}", path.read_bytes()))
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                         visibility=Visibility.PRIVATE)
    publish(streaming_settings.database_url, s3, video=video,
            bucket=streaming_settings.media_bucket, files=files)
    auto = httpx.get(f"{live_server}/api/stream/{video.id}", params={"quality": "auto"},
                     headers=cognito.headers("owner")).json()
    out = tmp_path / "played.mp4"
    # ffmpeg is the stock player: it reads the master, picks variants, follows the
    # rewritten URIs to the presigned init and segments, with no credentials at all.
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", auto["url"],
                    "-map", "0:v:0", "-c", "copy", str(out)], check=True, timeout=60)
    info = probe_streams(out)
    assert info["streams"][0]["codec_type"] == "video"
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.2)
