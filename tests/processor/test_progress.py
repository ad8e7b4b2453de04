"""FFmpeg -progress output → Progress events."""

from __future__ import annotations

import pytest

from processor.progress import Progress, ProgressParser

BLOCK = """frame=12
fps=0.00
out_time_us={us}
out_time_ms={us}
out_time=00:00:01.000000
speed={speed}
progress={state}
"""


def feed(parser: ProgressParser, text: str) -> None:
    for line in text.splitlines(keepends=True):
        parser.feed(line)


def test_each_block_becomes_one_event() -> None:
    events: list[Progress] = []
    parser = ProgressParser(4.0, events.append)
    feed(parser, BLOCK.format(us="N/A", speed="N/A", state="continue"))
    feed(parser, BLOCK.format(us=1_000_000, speed="2.5x", state="continue"))
    feed(parser, BLOCK.format(us=4_020_000, speed="3x", state="end"))
    assert events == [
        Progress(fraction=0.0, speed=None, out_time_s=0.0),
        Progress(fraction=0.25, speed=2.5, out_time_s=1.0),
        Progress(fraction=1.0, speed=3.0, out_time_s=4.02),
    ]


def test_fraction_is_clamped_and_unknown_duration_reports_zero() -> None:
    events: list[Progress] = []
    feed(ProgressParser(1.0, events.append), BLOCK.format(us=3_000_000, speed="1x",
                                                          state="continue"))
    feed(ProgressParser(0.0, events.append), BLOCK.format(us=3_000_000, speed="1x",
                                                          state="continue"))
    assert [e.fraction for e in events] == [1.0, 0.0]


@pytest.mark.parametrize("line", ["", "\n", "garbage", "speed=fastx"])
def test_odd_lines_are_ignored(line: str) -> None:
    events: list[Progress] = []
    parser = ProgressParser(2.0, events.append)
    parser.feed(line)
    parser.feed("progress=continue\n")
    assert events == [Progress(fraction=0.0, speed=None, out_time_s=0.0)]
