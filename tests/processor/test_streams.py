"""Which streams intake uses, from ffprobe reports of the shapes real files have (the
multi-program and odd-codec cases the generated clips cannot all reproduce)."""

from __future__ import annotations

from typing import Any

import pytest

from common.error_codes import ErrorCode
from processor.errors import BadInput
from processor.streams import choices


def video(index: int, codec: str = "h264", size: tuple[int, int] = (1280, 720),
          rate: str = "25/1", **extra: Any) -> dict[str, Any]:
    return {"index": index, "codec_type": "video", "codec_name": codec, "width": size[0],
            "height": size[1], "avg_frame_rate": rate, "r_frame_rate": rate, **extra}


def audio(index: int, channels: int = 2, codec: str = "aac", **extra: Any) -> dict[str, Any]:
    return {"index": index, "codec_type": "audio", "codec_name": codec, "channels": channels,
            "sample_rate": "48000", **extra}


def report(*streams: dict[str, Any], programs: list[list[int]] | None = None,
           **fmt: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"streams": list(streams), "format": fmt}
    if programs:
        data["programs"] = [{"program_id": 100 + n, "streams": [{"index": i} for i in members]}
                            for n, members in enumerate(programs)]
    return data


def test_audio_tracks_without_channels_are_never_the_audio() -> None:
    (choice,) = choices(report(video(0), audio(1, channels=0, codec="mp3"), audio(2)))
    assert [a["index"] for a in choice.audio] == [2]


def test_the_default_track_first_then_the_first_real_one() -> None:
    (choice,) = choices(report(video(0), audio(1), audio(2, disposition={"default": 1}),
                               audio(3, disposition={"comment": 1})))
    assert [a["index"] for a in choice.audio] == [2, 1, 3]
    (choice,) = choices(report(video(0), audio(1, disposition={"visual_impaired": 1}),
                               audio(2)))
    assert [a["index"] for a in choice.audio] == [2, 1]


def test_the_largest_program_by_pixels_times_rate_with_its_own_audio() -> None:
    data = report(video(0, "mpeg2video", (720, 576)), audio(1), video(2, "hevc", (1280, 720),
                  "50/1"), audio(3), video(4, "mpeg2video", (720, 576)),
                  programs=[[0, 1], [2], [4, 3]])
    best, *rest = choices(data)
    assert (best.video["index"], best.audio, best.program_id) == (2, [], 101)
    assert [(c.video["index"], [a["index"] for a in c.audio]) for c in rest] == [
        (0, [1]), (4, [3])]  # tried next if the best one does not decode


def test_a_codec_this_ffmpeg_cannot_decode_is_named() -> None:
    unknown = video(0, "unknown", codec_tag_string="vvc1")
    with pytest.raises(BadInput, match=r"unsupported video codec H\.266/VVC \(vvc1\)") as caught:
        choices(report(unknown))
    assert caught.value.code == ErrorCode.UNSUPPORTED_CODEC
    with pytest.raises(BadInput, match="unsupported video codec 'abcd'"):
        choices(report(video(0, "unknown", codec_tag_string="abcd")))


def test_cover_art_is_not_the_video() -> None:
    art = video(1, "mjpeg", disposition={"attached_pic": 1})
    with pytest.raises(BadInput, match=r"no video stream \(audio only\)") as caught:
        choices(report(audio(0), art))
    assert caught.value.code == ErrorCode.NO_VIDEO


@pytest.mark.parametrize(("stream", "fmt"), [
    (video(0, "webp"), {}),
    (video(0, "bmp"), {}),
    (video(0, "hevc"), {"tags": {"major_brand": "heic"}}),
    (video(0, "av1"), {"tags": {"major_brand": "avif"}}),
])
def test_still_image_codecs_and_brands(stream: dict[str, Any], fmt: dict[str, Any]) -> None:
    with pytest.raises(BadInput, match="still image") as caught:
        choices(report(stream, **fmt))
    assert caught.value.code == ErrorCode.STILL_IMAGE


def test_one_frame_of_a_video_codec_is_video_not_a_still() -> None:
    (choice,) = choices(report(video(0, "h264", nb_frames="1"), audio(1)))
    assert choice.video["index"] == 0
