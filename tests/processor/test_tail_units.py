"""Where an Ogg file's last page and an MPEG program stream's last pack say they end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from processor.tail_units import ogg_end, program_stream_end
from tests.support.media import make_clip


def _encode(path: Path, vcodec: str, acodec: str, *args: str) -> Path:
    return make_clip(path, duration=2, size="160x120", vcodec=vcodec,
                     extra_output_args=["-c:a", acodec, *args])


@pytest.fixture(scope="module")
def ogg(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("tail") / "clip.ogv"
    return _encode(path, "libtheora", "libvorbis").read_bytes()


@pytest.fixture(scope="module", params=["vob", "mpeg"])
def program_stream(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("tail") / f"clip.{request.param}"
    return _encode(path, "mpeg2video", "mp2", "-f", request.param).read_bytes()


def _write(tmp_path: Path, data: bytes) -> tuple[Path, int]:
    path = tmp_path / "cut"
    path.write_bytes(data)
    return path, len(data)


def test_a_whole_ogg_file_ends_where_its_last_page_does(ogg: bytes, tmp_path: Path) -> None:
    assert ogg_end(*_write(tmp_path, ogg)) == len(ogg)


@pytest.mark.parametrize("cut", [1, 3, 20, 30, 1000])  # in the data, the lacing, the header
def test_an_ogg_file_cut_inside_a_page_declares_more(ogg: bytes, tmp_path: Path, cut: int
                                                     ) -> None:
    path, size = _write(tmp_path, ogg[:-cut])
    declared = ogg_end(path, size)
    assert declared is not None and declared > size


def test_bytes_after_the_last_ogg_page_prove_nothing(ogg: bytes, tmp_path: Path) -> None:
    # A tag or padding after the pages: no unit, so no cut can be shown.
    assert ogg_end(*_write(tmp_path, ogg + b"TAG" + b"\x00" * 125)) is None


def test_a_capture_pattern_inside_page_data_is_not_an_anchor(ogg: bytes, tmp_path: Path
                                                             ) -> None:
    # Only a page whose CRC holds anchors the walk; "OggS" in the data fails it.
    data = b"OggS" + bytes(60) + ogg
    assert ogg_end(*_write(tmp_path, data)) == len(data)


def test_a_whole_program_stream_ends_where_its_last_pack_does(program_stream: bytes,
                                                              tmp_path: Path) -> None:
    assert program_stream_end(*_write(tmp_path, program_stream)) == len(program_stream)


@pytest.mark.parametrize("cut", [1, 2, 5, 13, 700])  # in a PES, a start code, a pack header
def test_a_program_stream_cut_inside_a_pack_declares_more(program_stream: bytes,
                                                          tmp_path: Path, cut: int) -> None:
    path, size = _write(tmp_path, program_stream[:-cut])
    declared = program_stream_end(path, size)
    assert declared is not None and declared > size


def test_bytes_after_the_last_pack_prove_nothing(program_stream: bytes, tmp_path: Path
                                                 ) -> None:
    assert program_stream_end(*_write(tmp_path, program_stream + b"\xff" * 300)) is None


@pytest.fixture(scope="module")
def vcd(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    # A VCD follows each audio pack with 20 zero bytes that belong to no unit.
    path = tmp_path_factory.mktemp("tail") / "clip.mpg"
    return _encode(path, "mpeg1video", "mp2", "-f", "vcd").read_bytes()


def test_a_whole_vcd_ends_where_its_last_pack_does(vcd: bytes, tmp_path: Path) -> None:
    assert program_stream_end(*_write(tmp_path, vcd)) == len(vcd)


@pytest.mark.parametrize("cut", [30, 100, 1000])  # past the 20 zeros of an audio pack
def test_a_vcd_cut_inside_a_pack_declares_more(vcd: bytes, tmp_path: Path, cut: int
                                                ) -> None:
    path, size = _write(tmp_path, vcd[:-cut])
    declared = program_stream_end(path, size)
    assert declared is not None and declared > size


@pytest.mark.parametrize("zeros", [1, 2, 3, 4096])
def test_zero_padding_after_the_last_pack_is_no_cut(program_stream: bytes, tmp_path: Path,
                                                    zeros: int) -> None:
    path, size = _write(tmp_path, program_stream + bytes(zeros))
    declared = program_stream_end(path, size)
    assert declared is None or declared <= size


@pytest.mark.parametrize("into", [1, 2])
def test_a_cut_inside_the_start_code_after_a_pack_header_declares_more(
        program_stream: bytes, tmp_path: Path, into: int) -> None:
    # A packet must follow a pack header, so zeros there are its start code, cut.
    last = program_stream.rfind(b"\x00\x00\x01\xba")
    header = 14 + (program_stream[last + 13] & 7)
    path, size = _write(tmp_path, program_stream[:last + header + into])
    declared = program_stream_end(path, size)
    assert declared is not None and declared > size


def test_a_tail_crafted_from_short_packs_is_walked_once(program_stream: bytes,
                                                        tmp_path: Path) -> None:
    # 21000 MPEG-1 pack headers, then a byte that is no unit: each later anchor would walk
    # the same chain to the same byte, so the first failed trusted walk ends the search.
    pack = b"\x00\x00\x01\xba\x21\x00\x01\x00\x01\x80\x00\x01"
    path, size = _write(tmp_path, program_stream + pack * 21000 + b"\xff")
    started = time.process_time()
    assert program_stream_end(path, size) is None
    assert time.process_time() - started < 2


def test_a_tail_full_of_capture_patterns_costs_a_bounded_number_of_crcs(
        ogg: bytes, tmp_path: Path) -> None:
    path, size = _write(tmp_path, ogg + b"OggS\x00" * 30000)
    started = time.process_time()
    assert ogg_end(path, size) is None
    assert time.process_time() - started < 2
