"""``videoforge transcode SOURCE OUTDIR``: the whole ladder for one local file."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from common.qualities import QUALITY_NAMES, normalize
from processor.errors import BadInput, TranscodeError
from processor.manifest import Manifest
from processor.progress import Progress
from processor.settings import ProcessorSettings
from processor.transcode_settings import TranscodeSettings
from videoforge.cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", type=Path, help="video file to transcode")
    parser.add_argument("outdir", type=Path, help="directory for the outputs (created)")
    parser.add_argument("--quality", action="append", metavar="Q",
                        help=f"only these qualities ({', '.join(QUALITY_NAMES)}); repeat or "
                             "separate with commas (default: every quality the source has)")
    parser.add_argument("--max-duration", type=float, metavar="SECONDS",
                        help="reject longer sources (default: VF_MAX_DURATION_S)")
    parser.add_argument("--max-size", type=int, metavar="BYTES",
                        help="reject bigger files (default: VF_MAX_SIZE_BYTES)")
    parser.add_argument("--max-pixels", type=int, metavar="N",
                        help="reject larger frames (default: VF_MAX_PIXELS)")
    parser.add_argument("--preset", help="x264 preset (default: VF_X264_PRESET)")


def run(args: argparse.Namespace) -> int:
    from processor.transcode import transcode

    settings = TranscodeSettings.from_settings(ProcessorSettings())
    overrides = {"max_duration_s": args.max_duration, "max_size_bytes": args.max_size,
                 "max_pixels": args.max_pixels}
    limits = replace(settings.limits, **{k: v for k, v in overrides.items() if v is not None})
    encode = replace(settings.encode, preset=args.preset or settings.encode.preset)
    settings = replace(settings, limits=limits, encode=encode)
    try:
        args.outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the output side's fault, not the source's: exit 1
        print(f"error: cannot create {args.outdir}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        qualities = _qualities(args.quality)
        # Absolute: FFmpeg would read a relative "name:…" as a protocol, not a directory.
        manifest = transcode(args.source, args.outdir.resolve(), settings=settings,
                             qualities=qualities,
                             on_progress=_ProgressLine())
    except (BadInput, ValueError) as exc:
        _end_progress_line()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except TranscodeError as exc:
        _end_progress_line()
        print(f"error: transcoding failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    _end_progress_line()
    print(f"done: {len(manifest.assets)} assets in {args.outdir} (listed in manifest.json)")
    print(summary(manifest))
    return EXIT_OK


def _qualities(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return normalize([q for v in values for q in v.split(",") if q.strip()])


def summary(manifest: Manifest) -> str:
    rows = [("type", "quality", "size", "bitrate", "bytes", "path")]
    for a in manifest.assets:
        dims = f"{a.width}x{a.height}" if a.width and a.height else ""
        rate = f"{a.bitrate / 1000:.0f} kb/s" if a.bitrate else ""
        rows.append((a.type, a.quality, dims, rate, f"{a.size:,}", a.path))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     .rstrip() for row in rows)


class _ProgressLine:
    """One rewritten status line on a terminal; a line per 10 % otherwise (logs, pipes)."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last_decile = -1

    def __call__(self, p: Progress) -> None:
        speed = f"  {p.speed:.2f}x" if p.speed else ""
        text = f"transcoding {p.fraction * 100:5.1f}%{speed}"
        if self._tty:
            print(f"\r{text}", end="", file=sys.stderr, flush=True)
        elif int(p.fraction * 10) > self._last_decile:
            self._last_decile = int(p.fraction * 10)
            print(text, file=sys.stderr, flush=True)


def _end_progress_line() -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr, flush=True)
