"""HLS from a private bucket: the master's variants come back through this service with a
playback grant; a variant is byte ranges of its quality's one CMAF file, whose presigned
URL appears once (EXT-X-DEFINE). The ranges, read from S3, hold every frame the
progressive file holds; a stock HLS player (FFmpeg's demuxer, through ``expand=1``) plays
the whole chain with no credentials; variants stored before CMAF still play."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from common.models import Visibility
from streaming.app import create_app
from streaming.hls import VariantTemplate, resolve_key, rewrite_uris
from tests.support.cmaf import byte_ranges, packet_counts
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
    assert resolve_key("videos/v/j/hls/master.m3u8", "720p.m3u8") == "videos/v/j/hls/720p.m3u8"
    assert resolve_key("videos/v/j/hls/720p.m3u8", "../720p.mp4") == "videos/v/j/720p.mp4"
    assert resolve_key("videos/v/j/hls/720p/index.m3u8", "https://cdn/x.m4s") is None


def test_template_puts_the_url_once_or_in_every_line() -> None:
    stored = ('#EXTM3U\n#EXT-X-VERSION:8\n#EXT-X-DEFINE:NAME="media",VALUE="../720p.mp4"\n'
              '#EXT-X-MAP:URI="{$media}",BYTERANGE="10@0"\n#EXTINF:6.000,\n'
              '#EXT-X-BYTERANGE:5@20\n{$media}\n#EXT-X-ENDLIST\n')
    template = VariantTemplate.parse(stored, playlist_key="videos/v/j/hls/720p.m3u8")
    assert template.media_key == "videos/v/j/720p.mp4"
    url = "https://s3/x/720p.mp4?X-Amz-Signature=abc&X-Amz-Expires=60"
    served = template.render(url)
    assert served.count(url) == 1 and served == stored.replace("../720p.mp4", url)
    expanded = template.render(url, expand=True)
    assert "EXT-X-DEFINE" not in expanded and "{$media}" not in expanded
    assert "#EXT-X-VERSION:7\n" in expanded and expanded.count(url) == 2
    with pytest.raises(ValueError):
        template.render('https://evil/"\n#EXT-X-ENDLIST')
    assert VariantTemplate.parse("#EXTM3U\nseg.m4s\n", playlist_key="k").media_key is None


def test_byte_ranges_from_s3_hold_every_frame_of_the_progressive_file(
        client, private_cmaf, cognito, tmp_path) -> None:
    video = private_cmaf
    assert client.get(f"/api/stream/{video.id}/master.m3u8").status_code == 404
    auto = client.get(f"/api/stream/{video.id}", params={"quality": "auto"},
                      headers=cognito.headers("owner")).json()
    master = client.get(auto["url"])  # no Authorization: the grant is the credential
    assert master.status_code == 200
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    variants = _uris(master.text)
    assert [v.split("?")[0] for v in variants] == ["hls/480p/index.m3u8", "hls/720p/index.m3u8"]
    base = auto["url"].split("master.m3u8")[0]
    for quality, uri in zip(("480p", "720p"), variants, strict=True):
        variant = client.get(base + uri)
        assert variant.status_code == 200 and "#EXT-X-VERSION:8" in variant.text
        url, ranges = byte_ranges(variant.text)
        assert variant.text.count("X-Amz-Signature=") == 1  # one presigned URL
        progressive = client.get(f"/api/stream/{video.id}", params={"quality": quality},
                                 headers=cognito.headers("owner")).json()["url"]
        assert url.split("?")[0] == progressive.split("?")[0]  # the same object
        parts = [httpx.get(url, headers={"Range": f"bytes={start}-{start + length - 1}"})
                 for start, length in ranges]
        assert all(p.status_code == 206 for p in parts)
        joined = tmp_path / f"{quality}.mp4"
        joined.write_bytes(b"".join(p.content for p in parts))
        whole = tmp_path / f"{quality}-progressive.mp4"
        whole.write_bytes(httpx.get(progressive).content)
        assert packet_counts(joined) == packet_counts(whole)
        assert packet_counts(whole)["video"] == 50  # 5 s at 10 fps: every frame
    # A grant is for one video and cannot be forged or reused elsewhere.
    forged = variants[1].rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    assert client.get(base + forged).status_code == 404


def test_playlists_are_read_from_s3_once(client, private_cmaf, cognito) -> None:
    auto = client.get(f"/api/stream/{private_cmaf.id}", params={"quality": "auto"},
                      headers=cognito.headers("owner")).json()
    base = auto["url"].split("master.m3u8")[0]
    first = [client.get(base + uri).text for uri in _uris(client.get(auto["url"]).text)]
    playlists = client.app.state.service.texts
    misses = playlists.misses
    again = [client.get(base + uri).text for uri in _uris(client.get(auto["url"]).text)]
    assert playlists.misses == misses == 3  # master and two variants, each read once
    assert again == first  # the presigned URL is reused too


def test_pre_cmaf_variants_still_play(client, streaming_settings, cognito, s3) -> None:
    """Videos published before CMAF keep their per-segment layout: every URI presigned."""
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                         visibility=Visibility.PUBLIC)
    publish(streaming_settings.database_url, s3, video=video,
            bucket=streaming_settings.media_bucket)
    master = client.get(f"/api/stream/{video.id}/master.m3u8")
    base = f"/api/stream/{video.id}/"
    variant = client.get(base + _uris(master.text)[1])
    init, segment = _uris(variant.text)
    assert httpx.get(init).content == b"init-720p" and httpx.get(segment).content == b"seg-720p"


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


def test_stock_player_plays_cmaf_hls_from_private_bucket(live_server, private_cmaf, cognito,
                                                         tmp_path) -> None:
    auto = httpx.get(f"{live_server}/api/stream/{private_cmaf.id}", params={"quality": "auto"},
                     headers=cognito.headers("owner")).json()
    out = tmp_path / "played.mp4"
    # FFmpeg is the stock player: it has no HLS variable substitution, so it asks for the
    # expanded form; it follows the grants and byte ranges with no credentials at all.
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-i", auto["url"] + "&expand=1", "-map", "0:v:0", "-map", "0:a:0",
                    "-c", "copy", str(out)], check=True, timeout=60)
    info = probe_streams(out)
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    assert float(info["format"]["duration"]) == pytest.approx(5.0, abs=0.2)
    assert packet_counts(out)["video"] == 50
